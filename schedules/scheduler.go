package schedules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
)

// Commands executes the triggers; *editorial.Desk implements it.
type Commands interface {
	Execute(ctx context.Context, id string, cmd domain.Command, req editorial.Request) (editorial.Result, error)
}

// Log reads the log; *events.Store implements it.
type Log interface {
	Load(ctx context.Context, articleID string) (events.History, error)
	LastSequence(ctx context.Context) (uint64, error)
}

// DeskView lists the articles the desk shows as scheduled or under embargo;
// *projections.Desk implements it.
type DeskView interface {
	Name() string
	ScheduledIDs(ctx context.Context) ([]string, error)
}

// Positions tells how far the views are; *projections.Runner implements it.
type Positions interface {
	// WaitFor returns nil once the named views have applied the log up to seq.
	WaitFor(ctx context.Context, seq uint64, views ...string) error
	// Statuses says where each view stands: a view being rebuilt serves its older tables.
	Statuses() []projections.Status
}

// Config wires a Scheduler.
type Config struct {
	// Connect opens the NATS connection the scheduler reads and writes on.
	Connect  func() (*nats.Conn, error)
	Replicas int // of the schedules stream, when it is created: as many as the log's
	Log      Log
	Commands Commands
	Desk     DeskView
	Views    Positions
	Logger   *slog.Logger
	// PinnedTTL is how long a silent instance keeps the writer's and the trigger's durables
	// before another takes them over; events.DefaultPinnedTTL if 0.
	PinnedTTL time.Duration
	// TriggerAckWait is how long a trigger handed to an instance that dies waits before it is
	// handed to another; DefaultTriggerAckWait if 0.
	TriggerAckWait time.Duration
	// LateWarning is the lateness above which a publication on schedule is logged as a
	// warning; DefaultLateWarning if 0.
	LateWarning time.Duration
	// MissingAltRetry is how long a publication on schedule refused for an image without alt
	// text waits before it is tried again; DefaultMissingAltRetry if 0.
	MissingAltRetry time.Duration
}

// DefaultTriggerAckWait bounds, with the pin's TTL, how late a trigger comes when the instance
// that held it dies: a trigger it had received comes back after AckWait, and the pin passes to
// another instance after its TTL, both counted from before the death. The worker tells the
// server every second that a trigger is in hand, so a live instance never sees one taken back.
const DefaultTriggerAckWait = 10 * time.Second

// DefaultLateWarning: a publication later than this is logged as a warning. Handing the
// trigger over after an instance dies takes up to the longer of the pin's TTL and the
// trigger's AckWait (10 s each by default) and a pull; anything later means newsroom or NATS
// was down at the time.
const DefaultLateWarning = 30 * time.Second

// DefaultMissingAltRetry: a scheduled publication held back by an image without alt text is
// tried again this often (the desk describes the image in the meantime).
const DefaultMissingAltRetry = time.Minute

// writerBatch is how many log events the writer takes at once.
const writerBatch = 500

// Scheduler runs the writer, the trigger and the reconciliation.
type Scheduler struct {
	cfg    Config
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream // NEWSROOM_SCHEDULES
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a scheduler; Start runs it.
func New(cfg Config) *Scheduler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.PinnedTTL <= 0 {
		cfg.PinnedTTL = events.DefaultPinnedTTL
	}
	if cfg.TriggerAckWait <= 0 {
		cfg.TriggerAckWait = DefaultTriggerAckWait
	}
	if cfg.MissingAltRetry <= 0 {
		cfg.MissingAltRetry = DefaultMissingAltRetry
	}
	if cfg.LateWarning <= 0 {
		cfg.LateWarning = DefaultLateWarning
	}
	return &Scheduler{cfg: cfg}
}

// Start creates the schedules stream if it is missing, prepares both durables, and runs the
// writer, the trigger and the reconciliation in the background until Close. The
// reconciliation waits for the desk view to reach the log's position at start.
func (s *Scheduler) Start(ctx context.Context) error {
	nc, err := s.cfg.Connect()
	if err != nil {
		return fmt.Errorf("schedules: connect: %w", err)
	}
	s.nc = nc
	if s.js, err = jetstream.New(nc); err != nil {
		return err
	}
	if s.stream, err = events.EnsureStream(ctx, s.js, StreamConfig(s.cfg.Replicas)); err != nil {
		return fmt.Errorf("schedules: %w", err)
	}
	if !s.stream.CachedInfo().Config.AllowMsgSchedules {
		return fmt.Errorf("schedules: stream %s does not allow message schedules; update it (nats stream edit %s --allow-schedules) or delete it: newsroom writes it again from the log", StreamName, StreamName)
	}
	writer, trigger := s.writer(), s.trigger()
	for _, w := range []*events.Worker{writer, trigger} {
		if err := w.Ensure(ctx); err != nil {
			return fmt.Errorf("schedules: %w", err)
		}
	}
	// After the writer's durable exists: a new one starts at the log's end, which this
	// position is at or after.
	upTo, err := s.cfg.Log.LastSequence(ctx)
	if err != nil {
		return fmt.Errorf("schedules: %w", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.goBackground(func() { _ = writer.Run(runCtx, s.write) })
	s.goBackground(func() { _ = trigger.Run(runCtx, s.fire) })
	s.goBackground(func() { s.reconcile(runCtx, upTo) })
	return nil
}

func (s *Scheduler) goBackground(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// Close stops the scheduler after the batch and the trigger in hand, giving up its pins so
// that another instance takes over at once.
func (s *Scheduler) Close() error {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	if s.nc != nil {
		s.nc.Close()
	}
	return nil
}

// writer is the worker that reads the log and writes the schedules.
func (s *Scheduler) writer() *events.Worker {
	return &events.Worker{JS: s.js, Stream: events.StreamName, MaxBatch: writerBatch, Resume: s.resumeWriter,
		Logger: s.cfg.Logger, Consumer: jetstream.ConsumerConfig{
			Durable: WriterDurable, Description: "newsroom schedules: the writer", FilterSubject: events.SubjectAll,
			AckPolicy: jetstream.AckAllPolicy, MaxAckPending: writerBatch, PinnedTTL: s.cfg.PinnedTTL,
		}}
}

// resumeWriter is where the writer's durable resumes: its acknowledgements are its record (a
// batch is acknowledged once its schedules are written). A durable that is missing (the first
// start, or an operator deleted it) starts at the log's end, and a reconciliation up to there
// writes whatever the log had scheduled before.
func (s *Scheduler) resumeWriter(ctx context.Context) (uint64, error) {
	c, err := s.js.Consumer(ctx, events.StreamName, WriterDurable)
	if err == nil {
		return c.CachedInfo().AckFloor.Stream, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, fmt.Errorf("schedules: writer: %w", err)
	}
	last, err := s.cfg.Log.LastSequence(ctx)
	if err != nil {
		return 0, err
	}
	if s.stop != nil { // running: the durable vanished, so reconcile up to where it restarts
		s.goBackground(func() { s.reconcile(ctx, last) })
	}
	return last, nil
}

// trigger is the worker that reads the due triggers and executes them.
func (s *Scheduler) trigger() *events.Worker {
	return &events.Worker{JS: s.js, Stream: StreamName, MaxBatch: 1, Unordered: true,
		// A new durable takes every trigger still in the stream: a trigger handled twice
		// records nothing the second time.
		Resume: func(context.Context) (uint64, error) { return 0, nil },
		Logger: s.cfg.Logger, Consumer: jetstream.ConsumerConfig{
			Durable: TriggerDurable, Description: "newsroom schedules: the trigger", FilterSubject: dueAll,
			AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 1000, AckWait: s.cfg.TriggerAckWait,
			PinnedTTL: s.cfg.PinnedTTL,
		}}
}

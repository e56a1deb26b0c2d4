package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// MemoryProfile is what a MemorySampler saw during a run. Go heap figures include everything in
// this process: the embedded nats-server too. RSS also counts memory outside the Go heap, such
// as SQLite's page cache (modernc allocates it through its own libc).
type MemoryProfile struct {
	PeakHeapInuse uint64    // bytes, the largest runtime.MemStats.HeapInuse sampled
	QuarterHeap   [4]uint64 // largest HeapInuse sampled in each quarter of the run's progress
	QuarterRSS    [4]uint64 // largest VmRSS sampled in each quarter
	PeakRSS       uint64    // VmHWM at the end: the kernel's peak RSS since the sampler reset it
	StartRSS      uint64    // VmRSS when the sampler started: what the peak grew from
	HWMReset      bool      // whether the peak could be reset at start; if not, it covers the whole process
	Samples       int
}

// MemorySampler samples the heap and the resident set while a run progresses. Progress reports
// how far the run is, from 0 to 1, so that samples can be sorted into quarters.
type MemorySampler struct {
	progress func() float64
	every    time.Duration
	stop     chan struct{}
	done     sync.WaitGroup
	profile  MemoryProfile
}

// StartMemorySampler resets the process's peak RSS (VmHWM) where the kernel allows it and
// samples every period until Stop.
func StartMemorySampler(every time.Duration, progress func() float64) *MemorySampler {
	s := &MemorySampler{progress: progress, every: every, stop: make(chan struct{})}
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
	s.profile.HWMReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	s.profile.StartRSS, _ = procStatus("VmRSS:")
	s.done.Add(1)
	go s.loop()
	return s
}

func (s *MemorySampler) loop() {
	defer s.done.Done()
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

func (s *MemorySampler) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := procStatus("VmRSS:")
	q := min(max(int(s.progress()*4), 0), 3)
	p := &s.profile
	p.PeakHeapInuse = max(p.PeakHeapInuse, ms.HeapInuse)
	p.QuarterHeap[q] = max(p.QuarterHeap[q], ms.HeapInuse)
	p.QuarterRSS[q] = max(p.QuarterRSS[q], rss)
	p.Samples++
}

// Stop takes a last sample and returns the profile.
func (s *MemorySampler) Stop() MemoryProfile {
	close(s.stop)
	s.done.Wait()
	s.sample()
	s.profile.PeakRSS, _ = procStatus("VmHWM:")
	return s.profile
}

// PeakRSSOf is the peak resident set (VmHWM) of process pid, in bytes; 0 if unknown.
func PeakRSSOf(pid int) uint64 {
	rss, _ := procStatusOf(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:")
	return rss
}

// procStatus reads one "kB" field of /proc/self/status, in bytes.
func procStatus(field string) (uint64, bool) { return procStatusOf("/proc/self/status", field) }

func procStatusOf(path, field string) (uint64, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(field)) {
			continue
		}
		fields := bytes.Fields(line[len(field):])
		if len(fields) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseUint(string(fields[0]), 10, 64)
		return kb * 1024, err == nil
	}
	return 0, false
}

// CPUUsage is the CPU time this process and the whole machine spent over an interval. The
// machine is shared: what others use is time this process could not have, so compare
// events per CPU-second as well as per second.
type CPUUsage struct {
	Process time.Duration // user + system time of this process
	Machine time.Duration // busy time of all cores, this process included
}

// Others is the average number of cores that other processes kept busy over wall.
func (u CPUUsage) Others(wall time.Duration) float64 {
	return max(u.Machine-u.Process, 0).Seconds() / wall.Seconds()
}

// CPUClock reads the counters that CPUUsage is the difference of.
type CPUClock struct{ process, machine time.Duration }

// ReadCPUClock reads this process's rusage and the machine's /proc/stat.
func ReadCPUClock() CPUClock {
	var c CPUClock
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.process = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := bytes.Cut(raw, []byte("\n"))
		fields := bytes.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
		var busy uint64
		for i, f := range fields[1:] {
			if i == 3 || i == 4 { // idle, iowait
				continue
			}
			if i > 7 { // guest time is counted in user already
				break
			}
			n, _ := strconv.ParseUint(string(f), 10, 64)
			busy += n
		}
		c.machine = time.Duration(busy) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	}
	return c
}

// Since is the usage from c to now.
func (c CPUClock) Since() CPUUsage {
	now := ReadCPUClock()
	return CPUUsage{Process: now.process - c.process, Machine: now.machine - c.machine}
}

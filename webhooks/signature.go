package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Standard Webhooks (https://www.standardwebhooks.com) names. The header names and the secret
// and signature formats are what receivers' libraries check: never change them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"

	// SecretPrefix starts every signing secret; the rest is the key in standard base64.
	SecretPrefix = "whsec_"
	// signatureVersion prefixes each signature: v1 is HMAC-SHA256.
	signatureVersion = "v1"

	secretBytes    = 32 // the key length of generated secrets
	minSecretBytes = 24 // the spec's bounds for a key an admin brings
	maxSecretBytes = 64
)

// NewSecret returns a fresh signing secret: whsec_ and 256 random bits in base64.
func NewSecret() (string, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// secretKey decodes a secret's key; it says what is wrong with a secret that is not
// whsec_ followed by 24 to 64 bytes in standard base64.
func secretKey(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("must start with %q (the Standard Webhooks format)", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("must be %q followed by standard base64", SecretPrefix)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("must hold %d to %d bytes after %q, not %d", minSecretBytes, maxSecretBytes, SecretPrefix, len(key))
	}
	return key, nil
}

// Sign returns the webhook-signature header value of one delivery attempt:
// "v1,<base64 of HMAC-SHA256(key, id + "." + timestamp + "." + body)>".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", fmt.Errorf("webhook secret %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return signatureVersion + "," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

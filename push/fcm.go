package push

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
)

// FCMOptions configure the FCM sender.
type FCMOptions struct {
	// ProjectID is the Firebase project; required (the SDK cannot always infer it).
	ProjectID string
	// CredentialsFile or CredentialsJSON hold a service account key; with neither, the
	// SDK's application default credentials are used (GOOGLE_APPLICATION_CREDENTIALS,
	// or the metadata server on Google Cloud).
	CredentialsFile string
	CredentialsJSON []byte
	// Endpoint replaces FCM's address ("http://127.0.0.1:port/v1" for a fake); with it,
	// no credentials are sent.
	Endpoint string
	// MaxConns bounds the connections kept open to FCM (default 256): above ~100
	// messages in flight, Go's default of 2 idle connections per host makes every send
	// open a new one and halves throughput.
	MaxConns int
}

// FCM sends through Firebase Cloud Messaging (the HTTP v1 API) with firebase-admin-go.
type FCM struct {
	client *messaging.Client
}

var _ Sender = (*FCM)(nil)

// NewFCM returns the sender; it makes no request until the first Send.
func NewFCM(ctx context.Context, o FCMOptions) (*FCM, error) {
	if o.ProjectID == "" {
		return nil, errors.New("push: FCM needs a project id")
	}
	if o.MaxConns == 0 {
		o.MaxConns = 256
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = o.MaxConns, o.MaxConns
	opts := []option.ClientOption{}
	switch {
	case o.Endpoint != "":
		opts = append(opts, option.WithEndpoint(o.Endpoint), option.WithoutAuthentication(),
			option.WithHTTPClient(&http.Client{Transport: transport, Timeout: 30 * time.Second}))
	case o.CredentialsJSON != nil:
		opts = append(opts, option.WithCredentialsJSON(o.CredentialsJSON)) //nolint:staticcheck // the key is the operator's own
	case o.CredentialsFile != "":
		opts = append(opts, option.WithCredentialsFile(o.CredentialsFile)) //nolint:staticcheck // the key is the operator's own
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: o.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("push: firebase app: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("push: firebase messaging: %w", err)
	}
	return &FCM{client: client}, nil
}

// Name implements Sender.
func (*FCM) Name() string { return "fcm" }

// Send implements Sender. The error is ErrDeadToken, a *RetryError, or wraps
// ErrRejected (or is the context's error).
func (f *FCM) Send(ctx context.Context, m Message) (string, error) {
	id, err := f.client.Send(ctx, toFCM(m))
	if err != nil {
		return "", classify(ctx, err)
	}
	return id, nil
}

func toFCM(m Message) *messaging.Message {
	android := &messaging.AndroidConfig{
		CollapseKey:  m.CollapseKey,
		Priority:     "normal",
		Notification: &messaging.AndroidNotification{ChannelID: m.ChannelID, Tag: m.CollapseKey},
	}
	apnsPriority := "5"
	if m.Urgent {
		android.Priority, apnsPriority = "high", "10"
	}
	if m.TTL > 0 {
		ttl := m.TTL
		android.TTL = &ttl
	}
	apnsHeaders := map[string]string{"apns-priority": apnsPriority}
	if m.CollapseKey != "" {
		apnsHeaders["apns-collapse-id"] = m.CollapseKey
	}
	if m.TTL > 0 {
		apnsHeaders["apns-expiration"] = strconv.FormatInt(time.Now().Add(m.TTL).Unix(), 10)
	}
	return &messaging.Message{
		Token:        m.Token,
		Notification: &messaging.Notification{Title: m.Title, Body: m.Body},
		Data:         m.Data,
		Android:      android,
		APNS: &messaging.APNSConfig{
			Headers: apnsHeaders,
			Payload: &messaging.APNSPayload{Aps: &messaging.Aps{Sound: "default", ThreadID: m.Data["record_type"]}},
		},
	}
}

// classify turns an SDK error into what the delivery job acts on. It must look at the
// SDK's own error: once wrapped, the messaging.Is* helpers no longer recognise it.
func classify(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	status := 0
	var after time.Duration
	// The SDK has read and closed the body; only the status and headers are left.
	if res := errorutils.HTTPResponse(err); res != nil { //nolint:bodyclose // closed by the SDK
		status = res.StatusCode
		after = retryAfter(res.Header.Get("Retry-After"), time.Now())
	}
	switch {
	case messaging.IsUnregistered(err), messaging.IsSenderIDMismatch(err):
		return fmt.Errorf("%w: %v", ErrDeadToken, err)
	case messaging.IsInvalidArgument(err):
		// FCM answers INVALID_ARGUMENT both for a malformed token and for a bad payload;
		// only the first is the token's fault.
		if strings.Contains(strings.ToLower(err.Error()), "registration token") {
			return fmt.Errorf("%w: %v", ErrDeadToken, err)
		}
		return fmt.Errorf("%w: %v", ErrRejected, err)
	case messaging.IsQuotaExceeded(err), messaging.IsInternal(err), messaging.IsUnavailable(err),
		errorutils.IsResourceExhausted(err), errorutils.IsInternal(err), errorutils.IsUnavailable(err),
		errorutils.IsDeadlineExceeded(err):
		return &RetryError{Status: status, After: after, Err: err}
	case messaging.IsThirdPartyAuthError(err), errorutils.IsUnauthenticated(err), errorutils.IsPermissionDenied(err):
		return fmt.Errorf("%w: %v", ErrRejected, err)
	case status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout:
		return fmt.Errorf("%w: %v", ErrRejected, err)
	default: // network errors, unknown answers
		return &RetryError{Status: status, After: after, Err: err}
	}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

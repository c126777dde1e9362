// Package fcmfake is a loopback FCM for tests: an HTTP server speaking the FCM v1 send
// API (POST /v1/projects/{project}/messages:send) that the real firebase-admin-go SDK is
// pointed at (push.FCMOptions.Endpoint = URL + "/v1"). Each token can be given the
// answers it gets, in order: success, UNREGISTERED, INVALID_ARGUMENT, 429 with
// Retry-After, 500, 503, or a slow answer.
package fcmfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Answer is what the fake says to one send.
type Answer struct {
	Status     int    // HTTP status; 0 means 200
	Code       string // google.rpc status, e.g. NOT_FOUND
	FCMError   string // FcmError errorCode, e.g. UNREGISTERED
	Message    string
	RetryAfter string // Retry-After header value
	Delay      time.Duration
}

// The answers FCM gives.
var (
	OK             = Answer{}
	Unregistered   = Answer{Status: 404, Code: "NOT_FOUND", FCMError: "UNREGISTERED", Message: "Requested entity was not found."}
	InvalidToken   = Answer{Status: 400, Code: "INVALID_ARGUMENT", FCMError: "INVALID_ARGUMENT", Message: "The registration token is not a valid FCM registration token"}
	InvalidPayload = Answer{Status: 400, Code: "INVALID_ARGUMENT", FCMError: "INVALID_ARGUMENT", Message: "Invalid value at 'message.android.ttl'"}
	Internal       = Answer{Status: 500, Code: "INTERNAL", FCMError: "INTERNAL", Message: "Internal error encountered."}
	Unavailable    = Answer{Status: 503, Code: "UNAVAILABLE", FCMError: "UNAVAILABLE", Message: "The service is currently unavailable."}
)

// RateLimited is a 429 asking to wait after (seconds, as FCM sends it).
func RateLimited(after time.Duration) Answer {
	return Answer{Status: 429, Code: "RESOURCE_EXHAUSTED", FCMError: "QUOTA_EXCEEDED", Message: "Quota exceeded.",
		RetryAfter: fmt.Sprint(int(after.Seconds()))}
}

// Slow answers OK after d.
func Slow(d time.Duration) Answer { return Answer{Delay: d} }

// Received is one send as FCM got it.
type Received struct {
	Project string
	Token   string
	Title   string
	Body    string
	Data    map[string]string
	// Android and APNS are the platform blocks as sent.
	AndroidPriority string
	AndroidChannel  string
	CollapseKey     string
	APNSHeaders     map[string]string
	At              time.Time
	Answered        int // the HTTP status it was given
}

// Server is the fake.
type Server struct {
	URL string

	srv      *http.Server
	ln       net.Listener
	mu       sync.Mutex
	queued   map[string][]Answer
	fallback Answer
	received []Received
	sends    atomic.Int64
}

// Start listens on a loopback port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), ln: ln, queued: map[string][]Answer{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Endpoint is what push.FCMOptions.Endpoint takes.
func (s *Server) Endpoint() string { return s.URL + "/v1" }

// Answer queues answers for token, used one per send in order; then the default.
func (s *Server) Answer(token string, answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued[token] = append(s.queued[token], answers...)
}

// SetDefault sets the answer to sends with nothing queued (OK at first).
func (s *Server) SetDefault(a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = a
}

// Received lists every send so far, failed ones included.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Delivered lists the sends to token that were answered 200.
func (s *Server) Delivered(token string) []Received {
	var out []Received
	for _, r := range s.Received() {
		if r.Token == token && r.Answered == http.StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// Sends counts every send request.
func (s *Server) Sends() int64 { return s.sends.Load() }

type sendRequest struct {
	Message struct {
		Token        string            `json:"token"`
		Data         map[string]string `json:"data"`
		Notification *struct {
			Title string `json:"title"`
			Body  string `json:"body"`
		} `json:"notification"`
		Android *struct {
			CollapseKey  string `json:"collapse_key"`
			Priority     string `json:"priority"`
			Notification *struct {
				ChannelID string `json:"channel_id"`
			} `json:"notification"`
		} `json:"android"`
		APNS *struct {
			Headers map[string]string `json:"headers"`
		} `json:"apns"`
	} `json:"message"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.sends.Add(1)
	project, ok := strings.CutPrefix(r.URL.Path, "/v1/projects/")
	project, ok2 := strings.CutSuffix(project, "/messages:send")
	if r.Method != http.MethodPost || !ok || !ok2 {
		http.Error(w, "not an FCM v1 send", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	var req sendRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || req.Message.Token == "" {
		writeError(w, InvalidPayload)
		return
	}
	rec := Received{Project: project, Token: req.Message.Token, Data: req.Message.Data, At: time.Now()}
	if n := req.Message.Notification; n != nil {
		rec.Title, rec.Body = n.Title, n.Body
	}
	if a := req.Message.Android; a != nil {
		rec.AndroidPriority, rec.CollapseKey = a.Priority, a.CollapseKey
		if a.Notification != nil {
			rec.AndroidChannel = a.Notification.ChannelID
		}
	}
	if a := req.Message.APNS; a != nil {
		rec.APNSHeaders = a.Headers
	}

	s.mu.Lock()
	ans := s.fallback
	if q := s.queued[rec.Token]; len(q) > 0 {
		ans, s.queued[rec.Token] = q[0], q[1:]
	}
	s.mu.Unlock()
	if ans.Delay > 0 {
		select {
		case <-time.After(ans.Delay):
		case <-r.Context().Done():
			return
		}
	}
	rec.Answered = max(ans.Status, http.StatusOK)
	s.mu.Lock()
	s.received = append(s.received, rec)
	n := len(s.received)
	s.mu.Unlock()
	if ans.Status == 0 || ans.Status == http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"name": fmt.Sprintf("projects/%s/messages/fake-%d", project, n)})
		return
	}
	writeError(w, ans)
}

func writeError(w http.ResponseWriter, a Answer) {
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": a.Status, "message": a.Message, "status": a.Code,
		"details": []any{map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": a.FCMError}},
	}})
}

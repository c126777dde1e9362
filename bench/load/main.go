// Command load is fieldops' HTTP load generator for benchmarks.
//
// Open loop (-rate > 0): requests are scheduled at fixed intervals (start + i/rate)
// whatever the server does, and each latency is measured from the request's scheduled
// time, not from when it was actually sent, so a stalled server shows up as latency
// instead of silently lowering the offered load (no coordinated omission). At most
// -max-inflight requests are outstanding; a request whose turn comes while the bound
// is reached is dropped and counted, never sent late.
//
// Closed loop (-rate 0): -concurrency workers each send the next request as soon as
// the previous one is answered: the maximum throughput at that concurrency, with
// latency measured from the actual send.
//
// Scenarios:
//
//	me     log in once, then GET /v1/me with the bearer token; the token is renewed by
//	       logging in again before it expires (or at once on a 401), off the measured path
//	login  POST /v1/auth/login repeatedly (argon2id-bound; raise the server's login
//	       rate limits for this, see bench/run.sh)
//	healthz GET /healthz (no database, no auth): a calibration of the HTTP stack and of
//	       the load generator itself
//
// Requests during -warmup are sent but not counted. The report gives completed
// requests, achieved rate, a status histogram, errors, and latency percentiles
// computed from every sample (sorted, nearest rank).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	baseURL     string
	scenario    string
	rate        float64
	duration    time.Duration
	warmup      time.Duration
	login       string
	password    string
	deviceID    string
	concurrency int
	maxInFlight int
	timeout     time.Duration
	jsonOut     bool
	jsonFile    string
	cpuProfile  string
}

func main() {
	var o options
	flag.StringVar(&o.baseURL, "url", "http://127.0.0.1:8080", "base URL of the fieldops server")
	flag.StringVar(&o.scenario, "scenario", "me", "what to request: me (GET /v1/me), login (POST /v1/auth/login) or healthz (GET /healthz, calibration)")
	flag.Float64Var(&o.rate, "rate", 1000, "open loop: requests per second; 0 for closed loop with -concurrency workers")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "measured duration (after the warm-up)")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "warm-up before measuring; its requests are not counted")
	flag.StringVar(&o.login, "login", "ambassador", "login (username or phone) to sign in with")
	flag.StringVar(&o.password, "password", "demo-password", "password to sign in with")
	flag.StringVar(&o.deviceID, "device-id", "bench-load", "device_id sent with each login")
	flag.IntVar(&o.concurrency, "concurrency", 32, "closed loop (-rate 0): number of workers")
	flag.IntVar(&o.maxInFlight, "max-inflight", 256, "open loop: bound on outstanding requests; requests beyond it are dropped and reported")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout (counted as an error)")
	flag.BoolVar(&o.jsonOut, "json", false, "print the report as JSON instead of text")
	flag.StringVar(&o.jsonFile, "json-out", "", "also write the JSON report to this file")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	flag.Parse()

	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		flag.Usage()
		os.Exit(2)
	}
	// net/http's client logs through the standard logger when a server writes on an
	// idle connection; count those instead of printing one line each.
	log.SetFlags(0)
	log.SetOutput(&unsolicited)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "load: cpu profile:", err)
			os.Exit(1)
		}
		defer f.Close()
	}
	rep, err := run(ctx, o)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	if o.jsonFile != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonFile, append(b, '\n'), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.writeText(os.Stdout)
	}
}

func (o *options) check() error {
	o.baseURL = strings.TrimRight(o.baseURL, "/")
	switch {
	case o.scenario != "me" && o.scenario != "login" && o.scenario != "healthz":
		return fmt.Errorf("-scenario must be me, login or healthz, not %q", o.scenario)
	case o.rate < 0 || math.IsNaN(o.rate) || math.IsInf(o.rate, 0):
		return errors.New("-rate must be 0 (closed loop) or positive")
	case o.duration <= 0:
		return errors.New("-duration must be positive")
	case o.warmup < 0:
		return errors.New("-warmup must not be negative")
	case o.rate == 0 && o.concurrency < 1:
		return errors.New("-concurrency must be at least 1 in closed loop (-rate 0)")
	case o.rate > 0 && o.maxInFlight < 1:
		return errors.New("-max-inflight must be at least 1")
	case o.timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	return nil
}

// ---------------------------------------------------------------- HTTP and scenarios

func newClient(o options) *http.Client {
	conns := o.maxInFlight
	if o.rate == 0 {
		conns = o.concurrency
	}
	conns += 4 // the token renewer
	tr := &http.Transport{
		Proxy:               nil, // benchmark the server, never a proxy from the environment
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns, // every in-flight request can return its connection: no reconnect churn
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
	return &http.Client{Transport: tr, Timeout: o.timeout}
}

type loginResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// doRequest sends one request and reads the whole body; status 0 means no response.
func doRequest(ctx context.Context, c *http.Client, method, url string, body []byte, bearer string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, b, nil
}

func loginBody(o options) []byte {
	b, _ := json.Marshal(map[string]string{"login": o.login, "password": o.password, "device_id": o.deviceID})
	return b
}

// tokenSource holds the access token for the me scenario and renews it by logging in
// again shortly before it expires (tokens last at most 10 minutes), or when told a
// request got a 401. Renewals run in the background, so they are not measured.
type tokenSource struct {
	o      options
	client *http.Client

	mu      sync.RWMutex
	token   string
	expires time.Time

	kick     chan struct{}
	renewals atomic.Int64
	failures atomic.Int64
}

func newTokenSource(ctx context.Context, o options, c *http.Client) (*tokenSource, error) {
	ts := &tokenSource{o: o, client: c, kick: make(chan struct{}, 1)}
	if err := ts.renew(ctx); err != nil {
		return nil, err
	}
	ts.renewals.Store(0)
	return ts, nil
}

func (ts *tokenSource) get() string {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return ts.token
}

func (ts *tokenSource) renew(ctx context.Context) error {
	st, body, err := doRequest(ctx, ts.client, http.MethodPost, ts.o.baseURL+"/v1/auth/login", loginBody(ts.o), "")
	if err != nil {
		return fmt.Errorf("log in as %q: %w", ts.o.login, err)
	}
	if st != http.StatusOK {
		return fmt.Errorf("log in as %q: HTTP %d: %s", ts.o.login, st, truncate(string(body), 300))
	}
	var lr loginResponse
	if err := json.Unmarshal(body, &lr); err != nil || lr.AccessToken == "" {
		return fmt.Errorf("log in as %q: no access_token in the answer: %s", ts.o.login, truncate(string(body), 300))
	}
	ttl := time.Duration(lr.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Minute
	}
	ts.mu.Lock()
	ts.token, ts.expires = lr.AccessToken, time.Now().Add(ttl)
	ts.mu.Unlock()
	ts.renewals.Add(1)
	return nil
}

// unauthorized asks for a renewal now (coalesced).
func (ts *tokenSource) unauthorized() {
	select {
	case ts.kick <- struct{}{}:
	default:
	}
}

// loop renews the token when 80 % of its life (at most 1 min before the end) has passed.
func (ts *tokenSource) loop(ctx context.Context) {
	for {
		ts.mu.RLock()
		exp := ts.expires
		ts.mu.RUnlock()
		margin := min(time.Until(exp)/5, time.Minute)
		wait := time.Until(exp) - margin
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-ts.kick:
			t.Stop()
		}
		if err := ts.renew(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			ts.failures.Add(1)
			fmt.Fprintln(os.Stderr, "load: token renewal failed:", err)
			select { // retry soon, not in a tight loop
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			ts.unauthorized()
		}
	}
}

// attempt is the outcome of one request.
type attempt struct {
	status int
	err    error
}

// scenarioFunc sends one request of the scenario.
type scenarioFunc func(ctx context.Context) attempt

func makeScenario(ctx context.Context, o options, c *http.Client) (scenarioFunc, *tokenSource, error) {
	switch o.scenario {
	case "me":
		ts, err := newTokenSource(ctx, o, c)
		if err != nil {
			return nil, nil, err
		}
		url := o.baseURL + "/v1/me"
		return func(ctx context.Context) attempt {
			st, _, err := doRequest(ctx, c, http.MethodGet, url, nil, ts.get())
			if st == http.StatusUnauthorized {
				ts.unauthorized()
			}
			return attempt{st, err}
		}, ts, nil
	case "healthz":
		url := o.baseURL + "/healthz"
		return func(ctx context.Context) attempt {
			st, _, err := doRequest(ctx, c, http.MethodGet, url, nil, "")
			return attempt{st, err}
		}, nil, nil
	default: // login
		url := o.baseURL + "/v1/auth/login"
		body := loginBody(o)
		// Fail fast if the credentials or the server are wrong.
		st, b, err := doRequest(ctx, c, http.MethodPost, url, body, "")
		if err != nil {
			return nil, nil, fmt.Errorf("first login: %w", err)
		}
		if st != http.StatusOK {
			return nil, nil, fmt.Errorf("first login: HTTP %d: %s", st, truncate(string(b), 300))
		}
		return func(ctx context.Context) attempt {
			st, _, err := doRequest(ctx, c, http.MethodPost, url, body, "")
			return attempt{st, err}
		}, nil, nil
	}
}

// ---------------------------------------------------------------- recording

// unsolicitedCounter takes the standard logger's output: net/http's "Unsolicited
// response received on idle HTTP channel" lines (a server answering on a connection
// that carries no request) are counted, the rest passed to stderr.
type unsolicitedCounter struct {
	n     atomic.Int64
	first atomic.Value // string: the first such line, shortened
}

var unsolicited unsolicitedCounter

func (u *unsolicitedCounter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("Unsolicited response received on idle HTTP channel")) {
		if u.n.Add(1) == 1 {
			u.first.Store(truncate(strings.ReplaceAll(string(p), "\r\n", " "), 200))
		}
		return len(p), nil
	}
	return os.Stderr.Write(p)
}

// recorder collects the samples of requests whose scheduled time is in the measured window.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	statuses  map[int]int
	errors    map[string]int
}

func newRecorder(capacity int) *recorder {
	return &recorder{latencies: make([]time.Duration, 0, capacity), statuses: map[int]int{}, errors: map[string]int{}}
}

func (r *recorder) add(lat time.Duration, a attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.err != nil {
		r.errors[classify(a.err)]++
		return
	}
	r.latencies = append(r.latencies, lat)
	r.statuses[a.status]++
}

func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local ports left"
	}
	return truncate(err.Error(), 120)
}

// ---------------------------------------------------------------- running

func run(ctx context.Context, o options) (*report, error) {
	client := newClient(o)
	defer client.CloseIdleConnections()

	sctx, cancelScenario := context.WithCancel(ctx)
	defer cancelScenario()
	send, ts, err := makeScenario(sctx, o, client)
	if err != nil {
		return nil, err
	}
	if ts != nil {
		go ts.loop(sctx)
	}

	expected := int(o.rate*o.duration.Seconds()) + 1
	if o.rate == 0 {
		expected = 1 << 16
	}
	rec := newRecorder(expected)
	cpu0 := processCPU()
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	measureTo := measureFrom.Add(o.duration)

	var st runStats
	if o.rate > 0 {
		st = openLoop(ctx, o, send, rec, start, measureFrom, measureTo)
	} else {
		st = closedLoop(ctx, o, send, rec, measureFrom, measureTo)
	}
	measured := o.duration
	if ctx.Err() != nil { // interrupted: report what was measured
		measured = max(st.stoppedAt.Sub(measureFrom), 0)
	}
	rep := buildReport(o, rec, st, measured)
	rep.CPUSeconds = math.Round((processCPU()-cpu0).Seconds()*1000) / 1000
	rep.Unsolicited = unsolicited.n.Load()
	if s, ok := unsolicited.first.Load().(string); ok {
		rep.UnsolicitedFirst = s
	}
	if ts != nil {
		rep.TokenRenewals = ts.renewals.Load()
		rep.TokenRenewalFailures = ts.failures.Load()
	}
	return rep, nil
}

type runStats struct {
	scheduled int64 // open loop: requests whose scheduled time fell in the measured window
	dropped   int64 // open loop: of those, not sent because -max-inflight were outstanding
	lateSends int64 // open loop: sent more than 1 ms after their scheduled time
	maxLag    time.Duration
	peakIn    int64
	stoppedAt time.Time
}

func openLoop(ctx context.Context, o options, send scenarioFunc, rec *recorder, start, measureFrom, measureTo time.Time) runStats {
	interval := time.Duration(float64(time.Second) / o.rate)
	slots := make(chan struct{}, o.maxInFlight)
	var wg sync.WaitGroup
	var st runStats
	var lateSends, inFlight, peak atomic.Int64
	var maxLag atomic.Int64

	for i := int64(0); ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(measureTo) || ctx.Err() != nil {
			break
		}
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			if ctx.Err() != nil {
				break
			}
		}
		measured := !due.Before(measureFrom)
		if measured {
			st.scheduled++
		}
		select {
		case slots <- struct{}{}:
		default:
			if measured {
				st.dropped++
			}
			continue
		}
		n := inFlight.Add(1)
		if n > peak.Load() {
			peak.Store(n) // approximate peak; only the scheduler writes it
		}
		wg.Add(1)
		go func(due time.Time, measured bool) {
			defer wg.Done()
			defer func() { <-slots; inFlight.Add(-1) }()
			if lag := time.Since(due); measured {
				if lag > time.Millisecond {
					lateSends.Add(1)
				}
				for {
					cur := maxLag.Load()
					if int64(lag) <= cur || maxLag.CompareAndSwap(cur, int64(lag)) {
						break
					}
				}
			}
			a := send(ctx)
			if measured {
				rec.add(time.Since(due), a) // from the scheduled time: no coordinated omission
			}
		}(due, measured)
	}
	st.stoppedAt = time.Now()
	wg.Wait()
	st.lateSends = lateSends.Load()
	st.maxLag = time.Duration(maxLag.Load())
	st.peakIn = peak.Load()
	return st
}

func closedLoop(ctx context.Context, o options, send scenarioFunc, rec *recorder, measureFrom, measureTo time.Time) runStats {
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(measureTo) {
					return
				}
				a := send(ctx)
				if !t0.Before(measureFrom) && ctx.Err() == nil {
					rec.add(time.Since(t0), a)
				}
			}
		}()
	}
	wg.Wait()
	return runStats{stoppedAt: time.Now(), peakIn: int64(o.concurrency)}
}

// ---------------------------------------------------------------- report

type latencyReport struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

type report struct {
	Scenario    string  `json:"scenario"`
	URL         string  `json:"url"`
	Mode        string  `json:"mode"` // open or closed
	TargetRate  float64 `json:"target_rate,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	MaxInFlight int     `json:"max_inflight,omitempty"`
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`

	Scheduled    int64          `json:"scheduled,omitempty"` // open loop
	Requests     int64          `json:"requests"`            // completed with an HTTP response
	Achieved     float64        `json:"achieved_rps"`        // responses per second of measured time
	OK           int64          `json:"ok"`                  // 2xx
	OKRate       float64        `json:"ok_rps"`
	Statuses     map[string]int `json:"statuses"`
	Errors       map[string]int `json:"errors"`      // no HTTP response
	ErrorCount   int64          `json:"error_count"` // transport errors + non-2xx
	Dropped      int64          `json:"dropped"`     // open loop: not sent, in-flight bound reached
	LateSends    int64          `json:"late_sends"`  // open loop: sent > 1 ms behind schedule
	MaxSendLag   float64        `json:"max_send_lag_ms"`
	PeakInFlight int64          `json:"peak_inflight"`

	Latency latencyReport `json:"latency"`

	// Responses the server wrote on idle connections that carried no request.
	Unsolicited      int64  `json:"unsolicited_responses,omitempty"`
	UnsolicitedFirst string `json:"unsolicited_first,omitempty"`

	TokenRenewals        int64 `json:"token_renewals,omitempty"`
	TokenRenewalFailures int64 `json:"token_renewal_failures,omitempty"`

	GoMaxProcs int     `json:"gomaxprocs"`
	CPUSeconds float64 `json:"cpu_s"` // the load generator's own CPU (user+system), warm-up included
	Note       string  `json:"note,omitempty"`
}

func buildReport(o options, rec *recorder, st runStats, measured time.Duration) *report {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	lat := rec.latencies
	slices.Sort(lat)
	r := &report{
		Scenario: o.scenario, URL: o.baseURL, DurationS: measured.Seconds(), WarmupS: o.warmup.Seconds(),
		Statuses: map[string]int{}, Errors: rec.errors, GoMaxProcs: runtime.GOMAXPROCS(0),
		Requests: int64(len(lat)), PeakInFlight: st.peakIn,
	}
	if o.rate > 0 {
		r.Mode, r.TargetRate, r.MaxInFlight = "open", o.rate, o.maxInFlight
		r.Scheduled, r.Dropped, r.LateSends, r.MaxSendLag = st.scheduled, st.dropped, st.lateSends, ms(st.maxLag)
		if st.dropped > 0 {
			r.Note = fmt.Sprintf("the in-flight bound (%d) was hit: %d scheduled requests were dropped, not sent; the server could not keep up with the offered rate", o.maxInFlight, st.dropped)
		}
	} else {
		r.Mode, r.Concurrency = "closed", o.concurrency
	}
	for code, n := range rec.statuses {
		r.Statuses[fmt.Sprint(code)] = n
		if code >= 200 && code < 300 {
			r.OK += int64(n)
		} else {
			r.ErrorCount += int64(n)
		}
	}
	for _, n := range rec.errors {
		r.ErrorCount += int64(n)
	}
	if secs := measured.Seconds(); secs > 0 {
		r.Achieved = float64(r.Requests) / secs
		r.OKRate = float64(r.OK) / secs
	}
	if n := len(lat); n > 0 {
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		r.Latency = latencyReport{
			P50: ms(pct(lat, 0.50)), P90: ms(pct(lat, 0.90)), P99: ms(pct(lat, 0.99)), P999: ms(pct(lat, 0.999)),
			Max: ms(lat[n-1]), Mean: ms(sum / time.Duration(n)),
		}
	}
	return r
}

// pct is the nearest-rank percentile of sorted samples.
func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (r *report) writeText(w io.Writer) {
	switch r.Mode {
	case "open":
		fmt.Fprintf(w, "scenario   %s, open loop at %.0f req/s for %s (warm-up %s not counted), in-flight bound %d\n",
			r.Scenario, r.TargetRate, secs(r.DurationS), secs(r.WarmupS), r.MaxInFlight)
	default:
		fmt.Fprintf(w, "scenario   %s, closed loop with %d workers for %s (warm-up %s not counted)\n",
			r.Scenario, r.Concurrency, secs(r.DurationS), secs(r.WarmupS))
	}
	fmt.Fprintf(w, "target     %s\n", r.URL)
	fmt.Fprintf(w, "requests   %d answered, %.1f req/s achieved (%d 2xx = %.1f req/s)\n", r.Requests, r.Achieved, r.OK, r.OKRate)
	if r.Mode == "open" {
		fmt.Fprintf(w, "schedule   %d scheduled, %d dropped (in-flight bound), %d sent >1 ms late (max send lag %.3f ms), peak in flight %d\n",
			r.Scheduled, r.Dropped, r.LateSends, r.MaxSendLag, r.PeakInFlight)
	}
	codes := make([]string, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%s: %d", c, r.Statuses[c]))
	}
	fmt.Fprintf(w, "status     %s\n", orNone(strings.Join(parts, ", ")))
	parts = parts[:0]
	for e, n := range r.Errors {
		parts = append(parts, fmt.Sprintf("%s: %d", e, n))
	}
	sort.Strings(parts)
	fmt.Fprintf(w, "errors     %d (non-2xx + no response)%s\n", r.ErrorCount, prefixed("; no response: ", strings.Join(parts, ", ")))
	l := r.Latency
	fmt.Fprintf(w, "latency    p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms  (mean %.3f ms)\n",
		l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	if r.Mode == "open" {
		fmt.Fprintln(w, "           (measured from each request's scheduled time)")
	}
	fmt.Fprintf(w, "load gen   %.2f s of CPU used by this load generator (warm-up included)\n", r.CPUSeconds)
	if r.Unsolicited > 0 {
		fmt.Fprintf(w, "unsolicited %d responses written by the server on idle connections that carried no request (not counted above); first: %s\n",
			r.Unsolicited, r.UnsolicitedFirst)
	}
	if r.TokenRenewals > 0 || r.TokenRenewalFailures > 0 {
		fmt.Fprintf(w, "tokens     %d renewals, %d failed\n", r.TokenRenewals, r.TokenRenewalFailures)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "NOTE       %s\n", r.Note)
	}
}

func secs(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

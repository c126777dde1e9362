package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/internal/proccpu"
)

// benchPhone talks to a real listener over HTTP, as phones do (the harness's
// in-process path would leave out the network and the HTTP server).
type benchPhone struct {
	base, token string
	client      *http.Client
	uplink      float64 // bytes per second each phone sends a photo at; 0: as fast as loopback
}

func newBenchPhone(b *testing.B, env *apitest.Env) *benchPhone {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
	return &benchPhone{base: env.Listen(b), token: env.As(b, "ambassador"), client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// uplinkFromEnv is FIELDOPS_BENCH_UPLINK_MBIT, a phone's upload speed in Mbit/s (0 or
// unset: unlimited, so loopback and the CPU decide).
func uplinkFromEnv() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("FIELDOPS_BENCH_UPLINK_MBIT"), 64); err == nil && v > 0 {
		return v * 1e6 / 8
	}
	return 0
}

// paced reads at most rate bytes per second since its first read, as a phone's radio
// link sends them.
type paced struct {
	r     io.Reader
	rate  float64
	start time.Time
	sent  int
}

func (p *paced) Read(b []byte) (int, error) {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	time.Sleep(time.Until(p.start.Add(time.Duration(float64(p.sent) / p.rate * float64(time.Second)))))
	n, err := p.r.Read(b[:min(len(b), 32<<10)])
	p.sent += n
	return n, err
}

func (p *benchPhone) call(method, url string, body []byte, headers map[string]string) (int, []byte, error) {
	var r io.Reader = bytes.NewReader(body)
	if p.uplink > 0 && method == http.MethodPut {
		r = &paced{r: r, rate: p.uplink}
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(body))
	res, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

func (p *benchPhone) api(method, path string, body any) (int, []byte, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	return p.call(method, p.base+path, raw, map[string]string{"Authorization": "Bearer " + p.token, "Content-Type": "application/json"})
}

func (p *benchPhone) presign(unit string, data []byte) (presigned, error) {
	code, out, err := p.api("POST", "/v1/attachments", photoRequest(uuid.Must(uuid.NewV7()), unit, data, "image/jpeg"))
	if err != nil || code != http.StatusCreated {
		return presigned{}, fmt.Errorf("presign: %d %v %s", code, err, out)
	}
	var ps presigned
	return ps, json.Unmarshal(out, &ps)
}

func (p *benchPhone) upload(ps presigned, data []byte) error {
	code, out, err := p.call(ps.Upload.Method, ps.Upload.URL, data, ps.Upload.Headers)
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("upload: %d %v %s", code, err, out)
	}
	return nil
}

func (p *benchPhone) complete(id string) error {
	code, out, err := p.api("POST", "/v1/attachments/"+id+"/complete", nil)
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("complete: %d %v %s", code, err, out)
	}
	return nil
}

// latencies collects durations from many goroutines and reports percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) report(b *testing.B) {
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return
	}
	at := func(q float64) float64 { return float64(l.d[int(q*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.90), "p90-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// photoOfSize is a JPEG of about n bytes: a noise picture, padded after its end marker
// with random bytes so each copy has its own checksum.
func photoOfSize(b *testing.B, w, h, n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	noise := make([]byte, w*h)
	_, _ = rand.Read(noise)
	for i, v := range noise {
		img.Set(i%w, i/w, color.RGBA{v, v ^ 0x5a, v ^ 0xa5, 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		b.Fatal(err)
	}
	if pad := n - buf.Len(); pad > 0 {
		extra := make([]byte, pad)
		_, _ = rand.Read(extra)
		buf.Write(extra)
	}
	return buf.Bytes()
}

func unique(data []byte) []byte {
	out := append([]byte(nil), data...)
	_, _ = rand.Read(out[len(out)-16:])
	return out
}

func benchEnv(b *testing.B) (*apitest.Env, string) {
	env := apitest.New(b, apitest.WithMinIO(b), apitest.WithEnv("FIELDOPS_LOG_LEVEL", "warn"), apitest.WithEnv("FIELDOPS_DB_MAX_OPEN_CONNS", "40"))
	return env, demoUnitB(b, env)
}

func demoUnitB(b *testing.B, env *apitest.Env) string {
	var id string
	env.DB.Gorm(b.Context()).Raw(`SELECT id::text FROM units WHERE project_id = ? ORDER BY number LIMIT 1`, env.Demo.ProjectID).Scan(&id)
	return id
}

// photoRate is the arrival rate of the latency benchmarks, photos per second
// (FIELDOPS_BENCH_PHOTO_RATE; default 100: every field worker of a large project
// sending a photo at once).
func photoRate() float64 {
	if r, err := strconv.ParseFloat(os.Getenv("FIELDOPS_BENCH_PHOTO_RATE"), 64); err == nil && r > 0 {
		return r
	}
	return 100
}

// openLoop starts call(i) for i < n at a fixed rate, each in its own goroutine, and
// measures each from its scheduled start, so a slow server cannot slow the arrivals
// and hide its own queueing (no coordinated omission).
func openLoop(b *testing.B, rate float64, n int, call func(i int) error) {
	var lat latencies
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := call(i); err != nil {
				b.Error(err)
				return
			}
			lat.add(time.Since(due))
		}(i)
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
	lat.report(b)
}

// BenchmarkPhotoPresign: POST /v1/attachments over HTTP at photoRate() per second.
func BenchmarkPhotoPresign(b *testing.B) {
	env, unit := benchEnv(b)
	p := newBenchPhone(b, env)
	data := photoOfSize(b, 64, 64, 4096)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = unique(data)
	}
	openLoop(b, photoRate(), b.N, func(i int) error {
		_, err := p.presign(unit, bodies[i])
		return err
	})
}

// BenchmarkPhotoComplete: POST /v1/attachments/{id}/complete over HTTP at photoRate()
// per second, each checking a 1 MB photo in MinIO (stat with checksum, 256 KiB read,
// header and EXIF, the row update and the derivative job's insert).
func BenchmarkPhotoComplete(b *testing.B) {
	env, unit := benchEnv(b)
	p := newBenchPhone(b, env)
	data := photoOfSize(b, 1024, 768, 1<<20)
	ids := make([]string, b.N)
	for i := range ids {
		d := unique(data)
		ps, err := p.presign(unit, d)
		if err == nil {
			err = p.upload(ps, d)
		}
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = ps.Attachment.ID
	}
	openLoop(b, photoRate(), b.N, func(i int) error { return p.complete(ids[i]) })
}

// BenchmarkPhotoUpload100x4MB: 100 phones at once each upload a 4 MB photo. "raw" is
// presigned PUTs straight to MinIO; "flow" is the whole app flow (presign, PUT,
// complete). Their MB/s ratio is the cost of the API around the upload.
//
// FIELDOPS_BENCH_UPLINK_MBIT gives each phone a radio link of that speed (both kinds);
// unset, the phones send as fast as loopback takes it and the shared CPU decides.
//
// One iteration is a pair of rounds, raw and flow, in alternating order: MinIO's own
// cost per PUT drifts by half from minute to minute on a shared machine, so only rounds
// run side by side compare. Reported: the median MB/s of each kind, the median of the
// pairs' ratios, and the CPU each process used per photo of each kind. The objects are
// removed after each pair, outside the measurement, so the store does not grow.
func BenchmarkPhotoUpload100x4MB(b *testing.B) {
	env, unit := benchEnv(b)
	p := newBenchPhone(b, env)
	p.uplink = uplinkFromEnv()
	base := photoOfSize(b, 1600, 1200, 4<<20)
	// Each phone has its file and its SHA-256 ready (hashed on the phone's own CPU, so
	// outside the measurement: here the phones share the server's cores).
	const phones = 100
	files := make([][]byte, phones)
	sums := make([]string, phones)
	for i := range files {
		files[i] = unique(base)
		sum := sha256.Sum256(files[i])
		sums[i] = hex.EncodeToString(sum[:])
	}
	// round runs one(i) for every phone at once and returns its MB/s and CPU per photo.
	round := func(one func(i int) error) (float64, map[string]float64) {
		cpu := proccpu.Start()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, phones)
		for f := range phones {
			wg.Go(func() {
				if err := one(f); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		used := cpu.MS()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		for k := range used {
			used[k] /= phones
		}
		return float64(phones*len(base)) / 1e6 / elapsed.Seconds(), used
	}
	raw := func(urls []presigned) func(int) error {
		// Presigned before the round: only the PUTs to MinIO are measured. The same bytes
		// as signed (the checksum is part of the signature).
		return func(i int) error { return p.upload(urls[i], base) }
	}
	var keys []string
	var mu sync.Mutex
	flow := func(i int) error {
		req := photoRequest(uuid.Must(uuid.NewV7()), unit, nil, "image/jpeg")
		req["size"], req["sha256"] = len(files[i]), sums[i]
		code, out, err := p.api("POST", "/v1/attachments", req)
		if err != nil || code != http.StatusCreated {
			return fmt.Errorf("presign: %d %v %s", code, err, out)
		}
		var ps presigned
		if err := json.Unmarshal(out, &ps); err != nil {
			return err
		}
		mu.Lock()
		keys = append(keys, "attachments/"+ps.Attachment.ID+"/original")
		mu.Unlock()
		if err := p.upload(ps, files[i]); err != nil {
			return err
		}
		return p.complete(ps.Attachment.ID)
	}

	var rawMBs, flowMBs, ratios []float64
	cpuRaw, cpuFlow := map[string]float64{}, map[string]float64{}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		urls := make([]presigned, phones)
		for i := range urls {
			ps, err := p.presign(unit, base)
			if err != nil {
				b.Fatal(err)
			}
			urls[i] = ps
			keys = append(keys, "attachments/"+ps.Attachment.ID+"/original")
		}
		b.StartTimer()
		var r, f float64
		var cr, cf map[string]float64
		if n%2 == 0 {
			r, cr = round(raw(urls))
			f, cf = round(flow)
		} else {
			f, cf = round(flow)
			r, cr = round(raw(urls))
		}
		b.StopTimer()
		rawMBs, flowMBs, ratios = append(rawMBs, r), append(flowMBs, f), append(ratios, f/r)
		for k, v := range cr {
			cpuRaw[k] += v / float64(b.N)
		}
		for k, v := range cf {
			cpuFlow[k] += v / float64(b.N)
		}
		for _, k := range keys {
			if err := env.Server.Blob.Delete(context.Background(), k); err != nil {
				b.Fatal(err)
			}
		}
		keys = keys[:0]
		b.StartTimer()
	}
	b.StopTimer()
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	b.ReportMetric(median(rawMBs), "raw-MB/s")
	b.ReportMetric(median(flowMBs), "flow-MB/s")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(p.uplink*8/1e6, "uplink-Mbit/s")
	for name, ms := range cpuRaw {
		b.ReportMetric(ms, "cpu-ms-"+name+"/raw-photo")
	}
	for name, ms := range cpuFlow {
		b.ReportMetric(ms, "cpu-ms-"+name+"/flow-photo")
	}
	b.ReportMetric(0, "ns/op")
}

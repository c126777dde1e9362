package blob

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/attachment"
)

// The local store keeps the MinIO flow for development: PresignPut and PresignGet
// return URLs served by the API itself,
//
//	PUT {base}/blobs/{key}?exp=…&ct=…&len=…&sha256=…&sig=…
//	GET {base}/blobs/{key}?exp=…&sig=…
//
// where {key} is the key path-escaped into one segment ("/" as %2F), exp a Unix time,
// and sig a base64url HMAC-SHA256 over the method, key, expiry and, for PUT, the
// content type, length and SHA-256 (hex). The API hands the query to ServeUpload and
// ServeDownload, which check it.
//
// Files: the object is <dir>/<key>; its content type is in <dir>/<key>.meta. An upload
// is written to a hidden temporary file in the same folder while it is hashed, and
// renamed into place only when its length and SHA-256 match the signed ones, so a
// half-written or refused file never shows under the key. Stat recomputes the SHA-256
// from the bytes on disk (it is called once per photo, at complete), so what it
// reports is what is stored now, not what was once seen.

const (
	metaSuffix   = ".meta"
	tmpPrefix    = ".tmp-"
	blobsPrefix  = "/blobs/"
	signVersion  = "fieldops-blob-url-v1"
	maxKeyLength = 512
)

func deriveKey(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("fieldops local blob store URL signing key"))
	return mac.Sum(nil)
}

// ValidKey accepts keys made of "/"-separated segments of letters, digits, '.', '_'
// and '-', none empty, none starting with '.' (so no "..", no hidden or temporary
// names) and none ending in ".meta": a key can never leave the folder nor name a
// file the store keeps for itself.
func ValidKey(key string) error {
	if key == "" || len(key) > maxKeyLength {
		return fmt.Errorf("invalid blob key %q: empty or longer than %d", key, maxKeyLength)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg[0] == '.' || strings.HasSuffix(seg, metaSuffix) {
			return fmt.Errorf("invalid blob key %q: empty, hidden, relative or reserved segment", key)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !keyChar(c) {
				return fmt.Errorf("invalid blob key %q: character %q", key, c)
			}
		}
	}
	return nil
}

func keyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// AbsoluteURL makes a path-only URL of the local store (/blobs/…) absolute with
// base, the API's public base URL or the base of the request being answered
// (https://api.example.com). Absolute URLs (MinIO's) are returned as they are.
func AbsoluteURL(base, u string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && base != "" {
		return strings.TrimRight(base, "/") + u
	}
	return u
}

// path is where key lives; key must be valid.
func (l *Local) path(key string) string { return filepath.Join(l.dir, filepath.FromSlash(key)) }

func (l *Local) sign(method, key string, exp int64, contentType, length, sum string) string {
	mac := hmac.New(sha256.New, l.key)
	for _, part := range []string{signVersion, method, key, strconv.FormatInt(exp, 10), contentType, length, sum} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (l *Local) url(key string, q url.Values) string {
	return l.baseURL + blobsPrefix + url.PathEscape(key) + "?" + q.Encode()
}

func checkTTL(ttl time.Duration) error {
	if ttl < time.Second || ttl > 7*24*time.Hour {
		return apperr.Internal("presign: ttl %s out of 1s..7d", ttl)
	}
	return nil
}

func checkPresign(key, contentType string, size int64, sum []byte, ttl time.Duration) error {
	if err := ValidKey(key); err != nil {
		return apperr.Internal("presign put: %w", err)
	}
	if contentType == "" || size < 0 || len(sum) != sha256.Size {
		return apperr.Internal("presign put %s: content type %q, size %d, %d-byte checksum", key, contentType, size, len(sum))
	}
	return checkTTL(ttl)
}

// expiry rounds up so a URL never dies before its ttl.
func expiry(now time.Time, ttl time.Duration) int64 {
	t := now.Add(ttl)
	exp := t.Unix()
	if t.Nanosecond() > 0 {
		exp++
	}
	return exp
}

// PresignPut returns a URL of the API that accepts exactly this body until ttl passes.
func (l *Local) PresignPut(_ context.Context, key, contentType string, size int64, sum []byte, ttl time.Duration) (attachment.Upload, error) {
	if err := checkPresign(key, contentType, size, sum, ttl); err != nil {
		return attachment.Upload{}, err
	}
	now := time.Now()
	exp := expiry(now, ttl)
	length, hexSum := strconv.FormatInt(size, 10), hex.EncodeToString(sum)
	q := url.Values{
		"exp": {strconv.FormatInt(exp, 10)}, "ct": {contentType}, "len": {length}, "sha256": {hexSum},
		"sig": {l.sign(http.MethodPut, key, exp, contentType, length, hexSum)},
	}
	return attachment.Upload{
		Method:    http.MethodPut,
		URL:       l.url(key, q),
		Headers:   map[string]string{"Content-Type": contentType, "Content-Length": length},
		ExpiresAt: now.Add(ttl).UTC(),
	}, nil
}

// PresignGet returns a URL of the API that downloads the object until ttl passes.
func (l *Local) PresignGet(_ context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", apperr.Internal("presign get: %w", err)
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	exp := expiry(time.Now(), ttl)
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {l.sign(http.MethodGet, key, exp, "", "", "")}}
	return l.url(key, q), nil
}

// Refusals of signed URLs, for the API to answer with.
func errSignature() error {
	return apperr.ForbiddenCode("signature-invalid", "the URL's signature is missing or does not match; ask for a new URL")
}

func errExpired() error {
	return apperr.ForbiddenCode("url-expired", "the URL has expired; ask for a new one")
}

// verify checks the query's signature, then its expiry.
func (l *Local) verify(method, key string, q url.Values, contentType, length, sum string) error {
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil {
		return errSignature()
	}
	want := l.sign(method, key, exp, contentType, length, sum)
	if !hmac.Equal([]byte(want), []byte(q.Get("sig"))) {
		return errSignature()
	}
	if time.Now().After(time.Unix(exp, 0)) {
		return errExpired()
	}
	return nil
}

type localMeta struct {
	ContentType string `json:"content_type"`
}

// ServeUpload stores body under key if query is a valid, unexpired signature and the
// body has the signed content type, length and SHA-256. contentLength is the request's
// Content-Length (-1 when unknown). Errors are apperr: 403 signature-invalid or
// url-expired, 400 invalid-key, content-type-mismatch, length-mismatch or
// checksum-mismatch; nothing is stored when it fails.
func (l *Local) ServeUpload(ctx context.Context, key string, query url.Values, contentType string, contentLength int64, body io.Reader) error {
	if err := ValidKey(key); err != nil {
		return apperr.BadRequest("invalid-key", "the blob key is not valid")
	}
	signedType, signedLen, signedSum := query.Get("ct"), query.Get("len"), query.Get("sha256")
	if err := l.verify(http.MethodPut, key, query, signedType, signedLen, signedSum); err != nil {
		return err
	}
	size, err := strconv.ParseInt(signedLen, 10, 64)
	if err != nil {
		return errSignature()
	}
	want, err := hex.DecodeString(signedSum)
	if err != nil || len(want) != sha256.Size {
		return errSignature()
	}
	if strings.TrimSpace(contentType) != signedType {
		return apperr.BadRequest("content-type-mismatch", fmt.Sprintf("the body's Content-Type %q is not the signed %q", contentType, signedType))
	}
	if contentLength >= 0 && contentLength != size {
		return apperr.BadRequest("length-mismatch", fmt.Sprintf("the body's Content-Length %d is not the signed %d", contentLength, size))
	}
	return l.write(ctx, key, body, size, want, signedType)
}

// write streams body into a temporary file beside the object while hashing it and
// renames it into place when it has size bytes (and the SHA-256 want, when given).
func (l *Local) write(ctx context.Context, key string, body io.Reader, size int64, want []byte, contentType string) (err error) {
	dst := l.path(key)
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return apperr.Unavailable("blob folder", err)
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return apperr.Unavailable("blob folder", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(body, size+1))
	if err != nil {
		return apperr.BadRequest("upload-incomplete", "the body could not be read completely: "+err.Error())
	}
	if n != size {
		return apperr.BadRequest("length-mismatch", fmt.Sprintf("the body has %s bytes, not the signed %d", countText(n, size), size))
	}
	if got := h.Sum(nil); want != nil && !bytes.Equal(got, want) {
		return apperr.BadRequest("checksum-mismatch", fmt.Sprintf("the body's SHA-256 %s is not the signed %s", hex.EncodeToString(got), hex.EncodeToString(want)))
	}
	if err := f.Sync(); err != nil {
		return apperr.Unavailable("blob folder", err)
	}
	if err := f.Close(); err != nil {
		return apperr.Unavailable("blob folder", err)
	}
	if err := ctx.Err(); err != nil {
		return apperr.Unavailable("the server", err)
	}
	meta, _ := json.Marshal(localMeta{ContentType: contentType})
	if err := writeFileAtomic(dst+metaSuffix, meta); err != nil {
		return apperr.Unavailable("blob folder", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return apperr.Unavailable("blob folder", err)
	}
	syncDir(dir)
	return nil
}

func countText(n, size int64) string {
	if n > size {
		return "more than " + strconv.FormatInt(size, 10)
	}
	return strconv.FormatInt(n, 10)
}

func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), tmpPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// syncDir makes a rename durable; best effort (not every system can sync a folder).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// ServeDownload opens the object if query is a valid, unexpired signature for it.
// Errors are apperr: 403 signature-invalid or url-expired, 400 invalid-key, 404.
// The ObjectInfo has no SHA256 (it is not recomputed for a download).
func (l *Local) ServeDownload(_ context.Context, key string, query url.Values) (io.ReadCloser, attachment.ObjectInfo, error) {
	if err := ValidKey(key); err != nil {
		return nil, attachment.ObjectInfo{}, apperr.BadRequest("invalid-key", "the blob key is not valid")
	}
	if err := l.verify(http.MethodGet, key, query, "", "", ""); err != nil {
		return nil, attachment.ObjectInfo{}, err
	}
	f, info, err := l.open(key)
	if errors.Is(err, attachment.ErrBlobNotFound) {
		return nil, attachment.ObjectInfo{}, apperr.NotFound("blob")
	}
	if err != nil {
		return nil, attachment.ObjectInfo{}, err
	}
	return f, info, nil
}

// open opens the object with its size and content type.
func (l *Local) open(key string) (*os.File, attachment.ObjectInfo, error) {
	if err := ValidKey(key); err != nil {
		return nil, attachment.ObjectInfo{}, fmt.Errorf("%w: %w", attachment.ErrBlobNotFound, err)
	}
	name := l.path(key)
	f, err := os.Open(name)
	if err != nil {
		return nil, attachment.ObjectInfo{}, l.translate(key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, attachment.ObjectInfo{}, l.translate(key, err)
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, attachment.ObjectInfo{}, fmt.Errorf("blob %s: %w", key, attachment.ErrBlobNotFound)
	}
	info := attachment.ObjectInfo{Size: st.Size(), ContentType: "application/octet-stream"}
	if raw, err := os.ReadFile(name + metaSuffix); err == nil {
		var m localMeta
		if json.Unmarshal(raw, &m) == nil && m.ContentType != "" {
			info.ContentType = m.ContentType
		}
	}
	return f, info, nil
}

func (l *Local) translate(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("blob %s: %w", key, attachment.ErrBlobNotFound)
	}
	return apperr.Unavailable("blob folder", err)
}

// Stat reports the object's size, content type and the SHA-256 of its bytes, read
// from the disk now.
func (l *Local) Stat(_ context.Context, key string) (attachment.ObjectInfo, error) {
	f, info, err := l.open(key)
	if err != nil {
		return attachment.ObjectInfo{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return attachment.ObjectInfo{}, apperr.Unavailable("blob folder", err)
	}
	info.SHA256 = h.Sum(nil)
	return info, nil
}

// ReadRange reads up to length bytes from offset (fewer at the end, none past it).
func (l *Local) ReadRange(_ context.Context, key string, offset, length int64) ([]byte, error) {
	if offset < 0 || length < 0 {
		return nil, apperr.Internal("read range %s: negative offset %d or length %d", key, offset, length)
	}
	f, info, err := l.open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if offset >= info.Size {
		return []byte{}, nil
	}
	n := min(length, info.Size-offset)
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, apperr.Unavailable("blob folder", err)
	}
	return buf[:got], nil
}

// Get opens the whole object.
func (l *Local) Get(_ context.Context, key string) (io.ReadCloser, error) {
	f, _, err := l.open(key)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Put stores an object the server made, atomically like an upload.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := ValidKey(key); err != nil {
		return apperr.Internal("put: %w", err)
	}
	if err := l.write(ctx, key, r, size, nil, contentType); err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindBadRequest {
			return apperr.Internal("put %s: %w", key, err)
		}
		return err
	}
	return nil
}

// Delete removes the object and its content type; a missing one is fine.
func (l *Local) Delete(_ context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return apperr.Internal("delete: %w", err)
	}
	name := l.path(key)
	for _, n := range []string{name, name + metaSuffix} {
		if err := os.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return apperr.Unavailable("blob folder", err)
		}
	}
	return nil
}

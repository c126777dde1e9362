package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/attachment"
)

// PresignPut signs a PUT whose Content-Type, Content-Length and x-amz-checksum-sha256
// are part of the signature: MinIO refuses a body of another length (403, signature),
// another type (403) or other bytes (400 XAmzContentChecksumMismatch). It is computed
// locally and works while the store is down.
func (m *MinIO) PresignPut(ctx context.Context, key, contentType string, size int64, sum []byte, ttl time.Duration) (attachment.Upload, error) {
	if err := checkPresign(key, contentType, size, sum, ttl); err != nil {
		return attachment.Upload{}, err
	}
	headers := map[string]string{
		"Content-Type":          contentType,
		"Content-Length":        strconv.FormatInt(size, 10),
		"X-Amz-Checksum-Sha256": base64.StdEncoding.EncodeToString(sum),
	}
	h := make(http.Header, len(headers))
	for k, v := range headers {
		h.Set(k, v)
	}
	now := time.Now()
	u, err := m.public.PresignHeader(ctx, http.MethodPut, m.bucket, key, ttl, nil, h)
	if err != nil {
		return attachment.Upload{}, apperr.Internal("presign put %s: %w", key, err)
	}
	return attachment.Upload{Method: http.MethodPut, URL: u.String(), Headers: headers, ExpiresAt: now.Add(ttl).UTC()}, nil
}

// PresignGet signs a GET of the object, computed locally.
func (m *MinIO) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	if err := ValidKey(key); err != nil {
		return "", apperr.Internal("presign get: %w", err)
	}
	u, err := m.public.PresignedGetObject(ctx, m.bucket, key, ttl, nil)
	if err != nil {
		return "", apperr.Internal("presign get %s: %w", key, err)
	}
	return u.String(), nil
}

// Stat asks for the object with its checksum; SHA256 is the one MinIO verified on
// upload (nil for objects stored without one).
func (m *MinIO) Stat(ctx context.Context, key string) (attachment.ObjectInfo, error) {
	oi, err := m.client.StatObject(ctx, m.bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return attachment.ObjectInfo{}, m.translate(key, err)
	}
	return objectInfo(oi), nil
}

func objectInfo(oi minio.ObjectInfo) attachment.ObjectInfo {
	info := attachment.ObjectInfo{Size: oi.Size, ContentType: oi.ContentType}
	if oi.ChecksumSHA256 != "" {
		if sum, err := base64.StdEncoding.DecodeString(oi.ChecksumSHA256); err == nil && len(sum) == sha256.Size {
			info.SHA256 = sum
		}
	}
	return info
}

// ReadRange reads up to length bytes from offset; fewer at the end of the object,
// none from at or past its end.
func (m *MinIO) ReadRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if offset < 0 || length < 0 {
		return nil, apperr.Internal("read range %s: negative offset %d or length %d", key, offset, length)
	}
	if length == 0 {
		return []byte{}, nil
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(offset, offset+length-1); err != nil {
		return nil, apperr.Internal("read range %s: %w", key, err)
	}
	obj, err := m.client.GetObject(ctx, m.bucket, key, opts)
	if err != nil {
		return nil, m.translate(key, err)
	}
	defer obj.Close()
	// One buffer of the length asked for: io.ReadAll's growing and final copy cost more
	// than the read itself on every completion.
	data := make([]byte, length)
	n, err := io.ReadFull(obj, data)
	data = data[:n]
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = nil // the object ends before length (or is empty)
	}
	if err != nil {
		if minio.ToErrorResponse(err).Code == "InvalidRange" {
			// The offset is at or past the end; make sure the object exists.
			if _, serr := m.Stat(ctx, key); serr != nil {
				return nil, serr
			}
			return []byte{}, nil
		}
		return nil, m.translate(key, err)
	}
	return data, nil
}

// Get streams the whole object. Errors of the first request (missing object, store
// down) are returned here rather than on the first Read.
func (m *MinIO) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := m.client.GetObject(ctx, m.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, m.translate(key, err)
	}
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		return nil, m.translate(key, err)
	}
	return &objectReader{obj: obj, m: m, key: key}, nil
}

// objectReader translates read errors the same way as the other calls.
type objectReader struct {
	obj *minio.Object
	m   *MinIO
	key string
}

func (r *objectReader) Read(p []byte) (int, error) {
	n, err := r.obj.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = r.m.translate(r.key, err)
	}
	return n, err
}

func (r *objectReader) Close() error { return r.obj.Close() }

// Put stores a small object the server made (derivatives), with a SHA-256 checksum
// MinIO verifies and Stat reports.
func (m *MinIO) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := ValidKey(key); err != nil {
		return apperr.Internal("put: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(r, size+1))
	if err != nil {
		return apperr.Internal("put %s: read: %w", key, err)
	}
	if int64(len(data)) != size {
		return apperr.Internal("put %s: the reader gave %d bytes, want %d", key, len(data), size)
	}
	_, err = m.client.PutObject(ctx, m.bucket, key, bytes.NewReader(data), size, minio.PutObjectOptions{
		ContentType: contentType, DisableMultipart: true, Checksum: minio.ChecksumSHA256,
	})
	if err != nil {
		return m.translate(key, err)
	}
	return nil
}

// Delete removes the object; a missing one is fine (S3 answers 204 for it too).
func (m *MinIO) Delete(ctx context.Context, key string) error {
	if err := m.client.RemoveObject(ctx, m.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		err = m.translate(key, err)
		if errors.Is(err, attachment.ErrBlobNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// translate maps a minio-go error: a missing object is attachment.ErrBlobNotFound,
// the store down (network, 5xx, a missing bucket, a timeout) is 503, the rest is ours.
func (m *MinIO) translate(key string, err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.Code == "NoSuchVersion":
		return fmt.Errorf("blob %s: %w", key, attachment.ErrBlobNotFound)
	case resp.StatusCode == 0, resp.StatusCode >= 500, resp.Code == "NoSuchBucket",
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apperr.Unavailable("blob store", err)
	default:
		return apperr.Internal("blob store %s: %w", key, err)
	}
}

// JPEG derivatives straight through libjpeg-turbo: decode at a DCT scale, reduce the
// rest with a triangle filter, turn upright, encode without metadata. See jpegfit.go.

#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <jpeglib.h>

#include "jpegfit.h"

struct fit_error {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char *msg;
	size_t msg_len;
};

static void fit_error_exit(j_common_ptr c) {
	struct fit_error *e = (struct fit_error *)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jump, 1);
}

// A warning (corrupt data, a file cut short) fails the job, as libvips' fail=true does:
// a derivative must never show grey where the evidence was lost.
static void fit_emit_message(j_common_ptr c, int level) {
	if (level < 0) {
		fit_error_exit(c);
	}
}

// A progressive JPEG may hold any number of scans, each going over the whole image: a
// small crafted file with thousands of them would keep a worker busy for minutes.
// Progressive photos have about ten (libjpeg's default script), so the limit is generous.
#define FIT_MAX_SCANS 64

static void fit_progress(j_common_ptr c) {
	if (c->is_decompressor && ((j_decompress_ptr)c)->input_scan_number > FIT_MAX_SCANS) {
		struct fit_error *e = (struct fit_error *)c->err;
		snprintf(e->msg, JMSG_LENGTH_MAX, "more than %d scans", FIT_MAX_SCANS);
		longjmp(e->jump, 1);
	}
}

// Pixels are kept as RGBX, 4 bytes (libjpeg-turbo decodes and encodes that layout at no
// cost), so a pixel is one 32-bit word: the filter's channel loops vectorize and a turn
// copies words.
#define BPP 4

// Fixed-point filter weights: 14 bits, each output's weights sum to exactly 1 << 14.
#define FIT_SHIFT 14
#define FIT_ONE (1 << FIT_SHIFT)

struct taps {
	int *start;   // first input index of each output
	int *count;   // number of inputs of each output
	int16_t *w;   // count weights per output, at out*width
	int width;    // the widest output
};

static void taps_free(struct taps *t) {
	free(t->start);
	free(t->count);
	free(t->w);
}

// taps_make builds a triangle (linear) filter reducing in samples to out (out <= in): its
// support widens with the reduction, so every input pixel counts (no aliasing).
static int taps_make(struct taps *t, int in, int out) {
	double r = (double)in / out;
	int width = (int)(2 * r) + 2;
	t->start = malloc(sizeof(int) * out);
	t->count = malloc(sizeof(int) * out);
	t->w = malloc(sizeof(int16_t) * (size_t)out * width);
	t->width = width;
	double *f = malloc(sizeof(double) * width);
	if (!t->start || !t->count || !t->w || !f) {
		free(f);
		return -1;
	}
	for (int i = 0; i < out; i++) {
		double c = (i + 0.5) * r - 0.5; // the output's centre in input coordinates
		int lo = (int)floor(c - r) + 1, hi = (int)ceil(c + r) - 1;
		if (lo < 0) {
			lo = 0;
		}
		if (hi > in - 1) {
			hi = in - 1;
		}
		if (hi - lo + 1 > width) {
			hi = lo + width - 1;
		}
		double sum = 0;
		int n = 0;
		for (int k = lo; k <= hi; k++) {
			double d = (k - c) / r;
			double v = 1 - (d < 0 ? -d : d);
			f[n++] = v > 0 ? v : 0;
			sum += f[n - 1];
		}
		if (sum <= 0) { // cannot happen for r >= 1; keep the nearest pixel
			lo = (int)(c + 0.5);
			lo = lo < 0 ? 0 : (lo > in - 1 ? in - 1 : lo);
			n = 1;
			f[0] = sum = 1;
		}
		int16_t *w = t->w + (size_t)i * width;
		int total = 0, big = 0;
		for (int k = 0; k < n; k++) {
			w[k] = (int16_t)(f[k] / sum * FIT_ONE + 0.5);
			total += w[k];
			if (w[k] > w[big]) {
				big = k;
			}
		}
		w[big] += FIT_ONE - total;
		t->start[i] = lo;
		t->count[i] = n;
	}
	free(f);
	return 0;
}

static inline uint8_t clamp8(int32_t v) {
	v = (v + (FIT_ONE >> 1)) >> FIT_SHIFT;
	return v < 0 ? 0 : (v > 255 ? 255 : (uint8_t)v);
}

// reduce_pixel writes the RGBX pixel that n pixels from p make with weights w.
static inline void reduce_pixel(const uint8_t *p, const int16_t *w, int n, uint8_t *o) {
#ifdef __SSE2__
	// Two pixels at a time: their bytes interleaved as 16-bit (r0 r1 g0 g1 b0 b1 x0 x1),
	// multiplied by (w0 w1) and summed pairwise by one madd into four 32-bit channels.
	const __m128i zero = _mm_setzero_si128();
	__m128i acc = _mm_set1_epi32(FIT_ONE >> 1);
	int k = 0;
	for (; k + 1 < n; k += 2) {
		__m128i px = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(p + k * BPP)), zero);
		__m128i pair = _mm_unpacklo_epi16(px, _mm_srli_si128(px, 8));
		__m128i wv = _mm_set1_epi32((int)((uint16_t)w[k] | ((uint32_t)(uint16_t)w[k + 1] << 16)));
		acc = _mm_add_epi32(acc, _mm_madd_epi16(pair, wv));
	}
	if (k < n) {
		int32_t one;
		memcpy(&one, p + k * BPP, sizeof one);
		__m128i px = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(one), zero), zero);
		acc = _mm_add_epi32(acc, _mm_madd_epi16(px, _mm_set1_epi32((uint16_t)w[k])));
	}
	acc = _mm_srai_epi32(acc, FIT_SHIFT);
	__m128i s16 = _mm_packs_epi32(acc, acc);
	int32_t v = _mm_cvtsi128_si32(_mm_packus_epi16(s16, s16)); // saturation clamps to 0–255
	memcpy(o, &v, sizeof v);
#else
	int32_t a[BPP] = {0};
	for (int k = 0; k < n; k++, p += BPP) {
		for (int ch = 0; ch < BPP; ch++) {
			a[ch] += w[k] * p[ch];
		}
	}
	for (int ch = 0; ch < BPP; ch++) {
		o[ch] = clamp8(a[ch]);
	}
#endif
}

// placement says where pixel (x, y) of an image w×h goes once turned upright for EXIF
// orientation o: at index off + x*ax + y*ay of the upright image, whose width is ow.
struct placement {
	ptrdiff_t off, ax, ay;
	int ow, oh;
};

static struct placement place(int w, int h, int o) {
	struct placement p = {0, 1, w, w, h};
	ptrdiff_t W = w, H = h;
	if (o >= 5) {
		p.ow = h;
		p.oh = w;
	}
	switch (o) {
	case 2: p.off = W - 1; p.ax = -1; p.ay = W; break;                   // mirrored
	case 3: p.off = (H - 1) * W + W - 1; p.ax = -1; p.ay = -W; break;    // upside down
	case 4: p.off = (H - 1) * W; p.ax = 1; p.ay = -W; break;             // mirrored upside down
	case 5: p.off = 0; p.ax = H; p.ay = 1; break;                        // transposed
	case 6: p.off = H - 1; p.ax = H; p.ay = -1; break;                   // turned 90° clockwise
	case 7: p.off = (W - 1) * H + H - 1; p.ax = -H; p.ay = -1; break;    // transversed
	case 8: p.off = (W - 1) * H; p.ax = -H; p.ay = 1; break;             // turned 90° anticlockwise
	default: break;
	}
	return p;
}

// put_row writes row y (w RGBX pixels) to its upright place in out.
static inline void put_row(uint32_t *out, const struct placement *p, int y, const uint8_t *row, int w) {
	if (p->ax == 1) {
		memcpy(out + p->off + y * p->ay, row, (size_t)w * BPP);
		return;
	}
	uint32_t *d = out + p->off + y * p->ay;
	for (int x = 0; x < w; x++, d += p->ax) {
		memcpy(d, row + (size_t)x * BPP, BPP);
	}
}

static int encode(const uint8_t *px, int w, int h, int quality, struct fit_result *res) {
	struct jpeg_compress_struct c;
	struct fit_error e;
	// The output goes to a buffer larger than the pixels themselves, which a JPEG never
	// outgrows: libjpeg would otherwise grow its own, which an error could not free safely.
	unsigned long cap = (unsigned long)w * h * 3 + 65536;
	unsigned char *const own = malloc(cap);
	unsigned char *buf = own;
	unsigned long size = cap;
	if (!own) {
		snprintf(res->msg, JMSG_LENGTH_MAX, "out of memory encoding %dx%d", w, h);
		return FIT_FAILED;
	}
	c.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = fit_error_exit;
	e.msg = res->msg;
	if (setjmp(e.jump)) {
		jpeg_destroy_compress(&c);
		free(own);
		return FIT_FAILED;
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &buf, &size);
	c.image_width = w;
	c.image_height = h;
	c.input_components = BPP;
	c.in_color_space = JCS_EXT_RGBX;
	jpeg_set_defaults(&c); // 4:2:0, baseline, JFIF header and nothing else
	jpeg_set_quality(&c, quality, TRUE);
	c.optimize_coding = TRUE;
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW r = (JSAMPROW)(px + (size_t)c.next_scanline * w * BPP);
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	if (buf != own) { // not expected (see cap), but then libjpeg's buffer holds it all
		free(own);
	}
	res->data = buf;
	res->size = size;
	res->width = w;
	res->height = h;
	return FIT_OK;
}

int fit_jpeg(const unsigned char *src, unsigned long len, int max_side, int orientation, int quality,
             long long max_pixels, struct fit_result *res) {
	struct jpeg_decompress_struct c;
	struct fit_error e;
	// Everything a failed decode (a longjmp from libjpeg) must free lives behind j: memory
	// keeps its values across the longjmp, locals changed after setjmp may not.
	struct job {
		struct taps tv, th;
		uint8_t *ring, *vrow, *hrow;
		int32_t *acc;
		uint32_t *out;
	} *volatile j = calloc(1, sizeof(struct job));
	volatile int rc = FIT_FAILED;
	res->data = NULL;
	res->msg[0] = 0;
	if (!j) {
		snprintf(res->msg, JMSG_LENGTH_MAX, "out of memory");
		return FIT_FAILED;
	}
	c.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = fit_error_exit;
	e.pub.emit_message = fit_emit_message;
	e.msg = res->msg;
	if (setjmp(e.jump)) {
		rc = FIT_UNDECODABLE;
		goto done;
	}
	jpeg_create_decompress(&c);
	struct jpeg_progress_mgr progress = {.progress_monitor = fit_progress};
	c.progress = &progress;
	jpeg_mem_src(&c, src, len);
	jpeg_read_header(&c, TRUE);
	if (c.jpeg_color_space != JCS_YCbCr && c.jpeg_color_space != JCS_GRAYSCALE && c.jpeg_color_space != JCS_RGB) {
		rc = FIT_OTHER; // CMYK and YCCK go through libvips, which converts them
		goto done;
	}
	if ((long long)c.image_width * c.image_height > max_pixels) {
		snprintf(res->msg, JMSG_LENGTH_MAX, "%ux%u is over %lld pixels", c.image_width, c.image_height, max_pixels);
		rc = FIT_UNDECODABLE;
		goto done;
	}
	int long_side = c.image_width > c.image_height ? c.image_width : c.image_height;
	int denom = 1;
	for (int s = 8; s > 1; s /= 2) {
		if (long_side / s >= max_side) {
			denom = s;
			break;
		}
	}
	c.scale_num = 1;
	c.scale_denom = denom;
	c.out_color_space = JCS_EXT_RGBX;
	jpeg_start_decompress(&c);
	int w = c.output_width, h = c.output_height;
	// The size after the reduction: the long side at max_side, the other in proportion.
	int ow = w, oh = h;
	if ((w > h ? w : h) > max_side) {
		if (w >= h) {
			ow = max_side;
			oh = (int)((long long)h * max_side / w);
		} else {
			oh = max_side;
			ow = (int)((long long)w * max_side / h);
		}
		ow = ow < 1 ? 1 : ow;
		oh = oh < 1 ? 1 : oh;
	}
	struct placement pl = place(ow, oh, orientation >= 1 && orientation <= 8 ? orientation : 1);
	size_t row = (size_t)w * BPP;
	struct taps *tv = &j->tv, *th = &j->th;
	uint32_t *out = j->out = malloc((size_t)ow * oh * BPP);
	if (!out || taps_make(tv, h, oh) || taps_make(th, w, ow)) {
		snprintf(res->msg, JMSG_LENGTH_MAX, "out of memory for %dx%d", ow, oh);
		goto done;
	}
	// Rows stream through: a ring holds the few decoded rows the vertical filter needs
	// (starts only grow), so no full-size decoded image is ever held.
	int ring_rows = tv->width;
	uint8_t *ring = j->ring = malloc(row * ring_rows);
	uint8_t *vrow = j->vrow = malloc(row);
	uint8_t *hrow = j->hrow = malloc((size_t)ow * BPP);
	int32_t *acc = j->acc = malloc(sizeof(int32_t) * row);
	if (!ring || !vrow || !hrow || !acc) {
		snprintf(res->msg, JMSG_LENGTH_MAX, "out of memory for %dx%d", w, h);
		goto done;
	}
	int next = 0; // the next row to decode
	for (int y = 0; y < oh; y++) {
		int need = oh == h ? y + 1 : tv->start[y] + tv->count[y];
		for (; next < need; next++) {
			JSAMPROW r = (JSAMPROW)(ring + (size_t)(next % ring_rows) * row);
			jpeg_read_scanlines(&c, &r, 1);
		}
		const uint8_t *line = ring + (size_t)(y % ring_rows) * row;
		if (oh != h) {
			const int16_t *wv = tv->w + (size_t)y * tv->width;
			memset(acc, 0, sizeof(int32_t) * row);
			for (int k = 0; k < tv->count[y]; k++) {
				const uint8_t *in = ring + (size_t)((tv->start[y] + k) % ring_rows) * row;
				int32_t wk = wv[k];
				for (size_t x = 0; x < row; x++) {
					acc[x] += wk * in[x];
				}
			}
			for (size_t x = 0; x < row; x++) {
				vrow[x] = clamp8(acc[x]);
			}
			line = vrow;
		}
		if (ow != w) {
			for (int x = 0; x < ow; x++) {
				reduce_pixel(line + (size_t)th->start[x] * BPP, th->w + (size_t)x * th->width, th->count[x], hrow + (size_t)x * BPP);
			}
			line = hrow;
		}
		put_row(out, &pl, y, line, ow);
	}
	// The rest is decoded too: a file cut short or damaged there still fails.
	for (; next < h; next++) {
		JSAMPROW r = (JSAMPROW)ring;
		jpeg_read_scanlines(&c, &r, 1);
	}
	jpeg_finish_decompress(&c);
	rc = encode((const uint8_t *)out, pl.ow, pl.oh, quality, res);
done:
	jpeg_destroy_decompress(&c);
	taps_free(&j->th);
	taps_free(&j->tv);
	free(j->ring);
	free(j->vrow);
	free(j->hrow);
	free(j->acc);
	free(j->out);
	free(j);
	return rc;
}

// JPEG derivatives straight through libjpeg-turbo (jpegfit.c, jpegfit.go).
#ifndef FIELDOPS_JPEGFIT_H
#define FIELDOPS_JPEGFIT_H

#include <stddef.h>

enum { FIT_OK = 0, FIT_UNDECODABLE = 1, FIT_OTHER = 2, FIT_FAILED = 3 };

struct fit_result {
	unsigned char *data; // JPEG bytes (malloc: free with free)
	unsigned long size;
	int width, height;
	char msg[200]; // JMSG_LENGTH_MAX
};

// fit_jpeg decodes a JPEG at the smallest DCT scale (1/8, 1/4, 1/2, 1) that keeps its long
// side at least max_side, reduces it to max_side with a triangle filter, turns it upright
// for EXIF orientation (1–8) and encodes it at quality with no metadata. FIT_OTHER: a
// colour space other than YCbCr, RGB or grey (left to libvips).
int fit_jpeg(const unsigned char *src, unsigned long len, int max_side, int orientation, int quality,
             long long max_pixels, struct fit_result *res);

#endif

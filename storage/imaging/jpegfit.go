package imaging

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -ljpeg -lm
#include <stdlib.h>
#include "jpegfit.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/fieldops/fieldops/internal/attachment"
)

// fitJPEG makes a JPEG's derivative with libjpeg-turbo alone (jpegfit.c): the decode at a
// DCT scale that libvips also does, then a triangle-filter reduction, the turn upright and
// the encode, without libvips' pipeline around them. For a 12 MP photo's preview that
// is about 1.5× cheaper (docs/BENCHMARKS.md). ok is false for the JPEGs left to libvips:
// CMYK and YCCK, which it converts to sRGB.
func (im *Imager) fitJPEG(src []byte, h header, maxSide int) (d attachment.Derived, ok bool, err error) {
	orientation := 1
	if h.exif != nil {
		if o := readExif(h.exif).orientation; o >= 1 && o <= 8 {
			orientation = o
		}
	}
	var res C.struct_fit_result
	rc := C.fit_jpeg((*C.uchar)(unsafe.Pointer(&src[0])), C.ulong(len(src)), C.int(maxSide), C.int(orientation),
		C.int(im.quality), C.longlong(im.maxPixels), &res)
	switch rc {
	case C.FIT_OK:
		defer C.free(unsafe.Pointer(res.data))
		return attachment.Derived{
			Data:   C.GoBytes(unsafe.Pointer(res.data), C.int(res.size)),
			Width:  int(res.width),
			Height: int(res.height),
		}, true, nil
	case C.FIT_OTHER:
		return attachment.Derived{}, false, nil
	case C.FIT_UNDECODABLE:
		return attachment.Derived{}, true, fmt.Errorf("%w: %s", attachment.ErrUndecodable, C.GoString(&res.msg[0]))
	default:
		return attachment.Derived{}, true, fmt.Errorf("imaging: %s", C.GoString(&res.msg[0]))
	}
}

// Command thresholdckks is built with -buildmode=c-shared: a C ABI over threshold CKKS (Lattigo v6
// multiparty) for fedfabric's Python SDK.
//
//	int  tckks_call(const char *op, int n, const uint8_t **in, const size_t *in_len,
//	                uint8_t **out, size_t *out_len, char **err);
//	void tckks_free(void *p);
//
// tckks_call takes n byte strings and on success (0) returns them framed in one malloc'd buffer:
// a uint64 count, then per item a uint64 length and its bytes (all little endian). On failure it
// returns 1 for bad input or 2 for an internal error, with a malloc'd message in *err. Free both
// with tckks_free. Panics are recovered: bad bytes never end the host process.
package main

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

//export tckks_call
func tckks_call(op *C.char, n C.int, in **C.uint8_t, inLen *C.size_t,
	out **C.uint8_t, outLen *C.size_t, errOut **C.char) (code C.int) {
	defer func() {
		if r := recover(); r != nil {
			code, *errOut = 2, C.CString(fmt.Sprintf("internal error: %v", r))
		}
	}()
	fields := make([][]byte, int(n))
	if n > 0 {
		ptrs, lens := unsafe.Slice(in, int(n)), unsafe.Slice(inLen, int(n))
		for i := range fields {
			if lens[i] > 0 {
				fields[i] = unsafe.Slice((*byte)(unsafe.Pointer(ptrs[i])), int(lens[i]))
			} else {
				fields[i] = []byte{}
			}
		}
	}
	results, err := dispatch(C.GoString(op), fields)
	if err != nil {
		code = 2
		if isInputError(err) {
			code = 1
		}
		*errOut = C.CString(err.Error())
		return code
	}
	size := 8
	for _, r := range results {
		size += 8 + len(r)
	}
	buf := (*C.uint8_t)(C.malloc(C.size_t(size)))
	if buf == nil {
		*errOut = C.CString("out of memory")
		return 2
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), size)
	binary.LittleEndian.PutUint64(dst, uint64(len(results)))
	off := 8
	for _, r := range results {
		binary.LittleEndian.PutUint64(dst[off:], uint64(len(r)))
		off += 8 + copy(dst[off+8:], r)
	}
	*out, *outLen = buf, C.size_t(size)
	return 0
}

//export tckks_free
func tckks_free(p unsafe.Pointer) {
	C.free(p)
}

func main() {}

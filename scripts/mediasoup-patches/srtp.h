// Copied to the worker's include/srtp.h by scripts/setup.mjs, where it is found
// before any system header of that name.
//
// Debian ships cisco's libsrtp 2.5 (libsrtp2-dev); mediasoup 3.15 and later are
// written against versatica's libsrtp 3 fork. This header stands in for the
// fork's <srtp.h> and maps the few calls that differ onto libsrtp2:
// - the header lives in <srtp2/srtp.h>;
// - srtp_stream_remove() is libsrtp2's srtp_remove_stream();
// - protect/unprotect take an output buffer and size_t lengths in libsrtp 3,
//   and work in place with int lengths in libsrtp2 (which may write up to
//   SRTP_MAX_TRAILER_LEN past the packet: the output buffer must have room);
// - two error codes that libsrtp2 does not have.
#ifndef MS_SRTP2_SHIM_H
#define MS_SRTP2_SHIM_H

#include <srtp2/srtp.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define srtp_err_status_buffer_small ((srtp_err_status_t)28)
#define srtp_err_status_cryptex_err ((srtp_err_status_t)29)

typedef srtp_err_status_t (*ms_srtp2_fn)(srtp_t, void*, int*);

// Copies the packet into the output buffer (when it is not already there) and
// runs libsrtp2's in-place function on it.
static inline srtp_err_status_t ms_srtp2_run(
  ms_srtp2_fn fn, srtp_t ctx, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen, size_t room)
{
	if (inLen > INT_MAX || inLen + room > *outLen)
		return srtp_err_status_buffer_small;
	if (out != in)
		memmove(out, in, inLen);
	int len = (int)inLen;
	srtp_err_status_t err = fn(ctx, out, &len);
	if (err == srtp_err_status_ok)
		*outLen = (size_t)len;
	return err;
}

static inline srtp_err_status_t ms_srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t mkiIndex)
{
	(void)mkiIndex;
	return ms_srtp2_run(srtp_protect, ctx, rtp, rtpLen, srtp, srtpLen, SRTP_MAX_TRAILER_LEN);
}

static inline srtp_err_status_t ms_srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	return ms_srtp2_run(srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen, 0);
}

static inline srtp_err_status_t ms_srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t mkiIndex)
{
	(void)mkiIndex;
	return ms_srtp2_run(srtp_protect_rtcp, ctx, rtcp, rtcpLen, srtcp, srtcpLen, SRTP_MAX_TRAILER_LEN);
}

static inline srtp_err_status_t ms_srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	return ms_srtp2_run(srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen, 0);
}

#define srtp_protect ms_srtp_protect
#define srtp_unprotect ms_srtp_unprotect
#define srtp_protect_rtcp ms_srtp_protect_rtcp
#define srtp_unprotect_rtcp ms_srtp_unprotect_rtcp
#define srtp_stream_remove srtp_remove_stream

#endif

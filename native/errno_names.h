// native/errno_names.h - Linux errno numbers to their symbolic names.
//
// A table of our own instead of strerrorname_np(3), which glibc added only in
// 2.32 and musl does not have.
#ifndef RSEQ_NATIVE_ERRNO_NAMES_H
#define RSEQ_NATIVE_ERRNO_NAMES_H

namespace rseq_native {

// "EINVAL" for EINVAL; "" for 0; "EUNKNOWN" for a number the table does not
// know (callers always report the number beside the name). Where Linux gives two names one number (EAGAIN/EWOULDBLOCK,
// EOPNOTSUPP/ENOTSUP, EDEADLK/EDEADLOCK) the first is returned. Never null.
const char* errno_name(int err);

// The number for a name the table knows (either spelling of an alias), or -1.
int errno_from_name(const char* name);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_ERRNO_NAMES_H

// native/errno_names.cc - see errno_names.h.
#include "errno_names.h"

#include <errno.h>
#include <string.h>

namespace rseq_native {
namespace {

struct ErrnoName {
  int number;
  const char* name;
};

#define RSEQ_ERRNO(e) {e, #e}

// Numbers come from <errno.h>, so the table is right for the platform the core
// is built for. Order: the first entry for a number is its preferred name.
const ErrnoName kErrnoNames[] = {
    RSEQ_ERRNO(EPERM),        RSEQ_ERRNO(ENOENT),          RSEQ_ERRNO(ESRCH),
    RSEQ_ERRNO(EINTR),        RSEQ_ERRNO(EIO),             RSEQ_ERRNO(ENXIO),
    RSEQ_ERRNO(E2BIG),        RSEQ_ERRNO(ENOEXEC),         RSEQ_ERRNO(EBADF),
    RSEQ_ERRNO(ECHILD),       RSEQ_ERRNO(EAGAIN),          RSEQ_ERRNO(ENOMEM),
    RSEQ_ERRNO(EACCES),       RSEQ_ERRNO(EFAULT),          RSEQ_ERRNO(ENOTBLK),
    RSEQ_ERRNO(EBUSY),        RSEQ_ERRNO(EEXIST),          RSEQ_ERRNO(EXDEV),
    RSEQ_ERRNO(ENODEV),       RSEQ_ERRNO(ENOTDIR),         RSEQ_ERRNO(EISDIR),
    RSEQ_ERRNO(EINVAL),       RSEQ_ERRNO(ENFILE),          RSEQ_ERRNO(EMFILE),
    RSEQ_ERRNO(ENOTTY),       RSEQ_ERRNO(ETXTBSY),         RSEQ_ERRNO(EFBIG),
    RSEQ_ERRNO(ENOSPC),       RSEQ_ERRNO(ESPIPE),          RSEQ_ERRNO(EROFS),
    RSEQ_ERRNO(EMLINK),       RSEQ_ERRNO(EPIPE),           RSEQ_ERRNO(EDOM),
    RSEQ_ERRNO(ERANGE),       RSEQ_ERRNO(EDEADLK),         RSEQ_ERRNO(ENAMETOOLONG),
    RSEQ_ERRNO(ENOLCK),       RSEQ_ERRNO(ENOSYS),          RSEQ_ERRNO(ENOTEMPTY),
    RSEQ_ERRNO(ELOOP),        RSEQ_ERRNO(ENOMSG),          RSEQ_ERRNO(EIDRM),
    RSEQ_ERRNO(ECHRNG),       RSEQ_ERRNO(EL2NSYNC),        RSEQ_ERRNO(EL3HLT),
    RSEQ_ERRNO(EL3RST),       RSEQ_ERRNO(ELNRNG),          RSEQ_ERRNO(EUNATCH),
    RSEQ_ERRNO(ENOCSI),       RSEQ_ERRNO(EL2HLT),          RSEQ_ERRNO(EBADE),
    RSEQ_ERRNO(EBADR),        RSEQ_ERRNO(EXFULL),          RSEQ_ERRNO(ENOANO),
    RSEQ_ERRNO(EBADRQC),      RSEQ_ERRNO(EBADSLT),         RSEQ_ERRNO(EBFONT),
    RSEQ_ERRNO(ENOSTR),       RSEQ_ERRNO(ENODATA),         RSEQ_ERRNO(ETIME),
    RSEQ_ERRNO(ENOSR),        RSEQ_ERRNO(ENONET),          RSEQ_ERRNO(ENOPKG),
    RSEQ_ERRNO(EREMOTE),      RSEQ_ERRNO(ENOLINK),         RSEQ_ERRNO(EADV),
    RSEQ_ERRNO(ESRMNT),       RSEQ_ERRNO(ECOMM),           RSEQ_ERRNO(EPROTO),
    RSEQ_ERRNO(EMULTIHOP),    RSEQ_ERRNO(EDOTDOT),         RSEQ_ERRNO(EBADMSG),
    RSEQ_ERRNO(EOVERFLOW),    RSEQ_ERRNO(ENOTUNIQ),        RSEQ_ERRNO(EBADFD),
    RSEQ_ERRNO(EREMCHG),      RSEQ_ERRNO(ELIBACC),         RSEQ_ERRNO(ELIBBAD),
    RSEQ_ERRNO(ELIBSCN),      RSEQ_ERRNO(ELIBMAX),         RSEQ_ERRNO(ELIBEXEC),
    RSEQ_ERRNO(EILSEQ),       RSEQ_ERRNO(ERESTART),        RSEQ_ERRNO(ESTRPIPE),
    RSEQ_ERRNO(EUSERS),       RSEQ_ERRNO(ENOTSOCK),        RSEQ_ERRNO(EDESTADDRREQ),
    RSEQ_ERRNO(EMSGSIZE),     RSEQ_ERRNO(EPROTOTYPE),      RSEQ_ERRNO(ENOPROTOOPT),
    RSEQ_ERRNO(EPROTONOSUPPORT), RSEQ_ERRNO(ESOCKTNOSUPPORT), RSEQ_ERRNO(EOPNOTSUPP),
    RSEQ_ERRNO(EPFNOSUPPORT), RSEQ_ERRNO(EAFNOSUPPORT),    RSEQ_ERRNO(EADDRINUSE),
    RSEQ_ERRNO(EADDRNOTAVAIL), RSEQ_ERRNO(ENETDOWN),       RSEQ_ERRNO(ENETUNREACH),
    RSEQ_ERRNO(ENETRESET),    RSEQ_ERRNO(ECONNABORTED),    RSEQ_ERRNO(ECONNRESET),
    RSEQ_ERRNO(ENOBUFS),      RSEQ_ERRNO(EISCONN),         RSEQ_ERRNO(ENOTCONN),
    RSEQ_ERRNO(ESHUTDOWN),    RSEQ_ERRNO(ETOOMANYREFS),    RSEQ_ERRNO(ETIMEDOUT),
    RSEQ_ERRNO(ECONNREFUSED), RSEQ_ERRNO(EHOSTDOWN),       RSEQ_ERRNO(EHOSTUNREACH),
    RSEQ_ERRNO(EALREADY),     RSEQ_ERRNO(EINPROGRESS),     RSEQ_ERRNO(ESTALE),
    RSEQ_ERRNO(EUCLEAN),      RSEQ_ERRNO(ENOTNAM),         RSEQ_ERRNO(ENAVAIL),
    RSEQ_ERRNO(EISNAM),       RSEQ_ERRNO(EREMOTEIO),       RSEQ_ERRNO(EDQUOT),
    RSEQ_ERRNO(ENOMEDIUM),    RSEQ_ERRNO(EMEDIUMTYPE),     RSEQ_ERRNO(ECANCELED),
    RSEQ_ERRNO(ENOKEY),       RSEQ_ERRNO(EKEYEXPIRED),     RSEQ_ERRNO(EKEYREVOKED),
    RSEQ_ERRNO(EKEYREJECTED), RSEQ_ERRNO(EOWNERDEAD),      RSEQ_ERRNO(ENOTRECOVERABLE),
    RSEQ_ERRNO(ERFKILL),      RSEQ_ERRNO(EHWPOISON),
    // Aliases: same numbers as EAGAIN, EOPNOTSUPP and EDEADLK on Linux. They
    // come last so the lookup by number finds the preferred name first.
    RSEQ_ERRNO(EWOULDBLOCK),  RSEQ_ERRNO(ENOTSUP),         RSEQ_ERRNO(EDEADLOCK),
};

#undef RSEQ_ERRNO

}  // namespace

const char* errno_name(int err) {
  if (err == 0) return "";
  for (const ErrnoName& e : kErrnoNames) {
    if (e.number == err) return e.name;
  }
  return "EUNKNOWN";
}

int errno_from_name(const char* name) {
  if (name == nullptr) return -1;
  for (const ErrnoName& e : kErrnoNames) {
    if (strcmp(e.name, name) == 0) return e.number;
  }
  return -1;
}

}  // namespace rseq_native

// native/glibc_compat.h - force-included (-include) by scripts/prebuild.cjs
// into every source of a prebuilt addon, never by a local build.
//
// A prebuild must load wherever the official Node binaries run, which need at
// most GLIBC_2.28. Linked against a newer glibc, the few libc functions the
// addon calls that glibc 2.34 moved into libc.so.6 (dlsym, the pthread key and
// once functions) would carry that release's symbol version, and the dynamic
// loader of an older glibc would refuse the addon. Each of them also exists
// under the architecture's base version (what every glibc since the port
// provides), so the references are bound to that one here. glibc's __rseq_*
// variables (2.35) are found through dlsym only (RSEQ_NO_LIBC_WEAK_REFS, in
// probe.cc). native/prebuild_compat.cc covers the one libstdc++ function the
// headers of GCC 12 call that is newer than GLIBCXX_3.4.21.
//
// test/native/prebuild.test.ts reads every prebuild's symbol versions.
#ifndef RSEQ_NATIVE_GLIBC_COMPAT_H_
#define RSEQ_NATIVE_GLIBC_COMPAT_H_

#if defined(__GLIBC__) || defined(__linux__)
#if defined(__x86_64__)
#define RSEQ_GLIBC_BASE_VERSION "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define RSEQ_GLIBC_BASE_VERSION "GLIBC_2.17"
#endif
#endif

#define RSEQ_NO_LIBC_WEAK_REFS 1

#ifdef RSEQ_GLIBC_BASE_VERSION
#define RSEQ_GLIBC_BASE_SYMBOL(name) __asm__(".symver " #name "," #name "@" RSEQ_GLIBC_BASE_VERSION)
// Every libc function whose default version glibc 2.32-2.34 moved and that
// also exists under the base version (the names the core may call).
RSEQ_GLIBC_BASE_SYMBOL(dladdr);
RSEQ_GLIBC_BASE_SYMBOL(dlerror);
RSEQ_GLIBC_BASE_SYMBOL(dlopen);
RSEQ_GLIBC_BASE_SYMBOL(dlsym);
RSEQ_GLIBC_BASE_SYMBOL(pthread_attr_getguardsize);
RSEQ_GLIBC_BASE_SYMBOL(pthread_attr_getstack);
RSEQ_GLIBC_BASE_SYMBOL(pthread_attr_getstacksize);
RSEQ_GLIBC_BASE_SYMBOL(pthread_attr_setguardsize);
RSEQ_GLIBC_BASE_SYMBOL(pthread_attr_setstack);
RSEQ_GLIBC_BASE_SYMBOL(pthread_attr_setstacksize);
RSEQ_GLIBC_BASE_SYMBOL(pthread_barrier_destroy);
RSEQ_GLIBC_BASE_SYMBOL(pthread_barrier_init);
RSEQ_GLIBC_BASE_SYMBOL(pthread_barrier_wait);
RSEQ_GLIBC_BASE_SYMBOL(pthread_cancel);
RSEQ_GLIBC_BASE_SYMBOL(pthread_create);
RSEQ_GLIBC_BASE_SYMBOL(pthread_detach);
RSEQ_GLIBC_BASE_SYMBOL(pthread_getattr_np);
RSEQ_GLIBC_BASE_SYMBOL(pthread_join);
RSEQ_GLIBC_BASE_SYMBOL(pthread_key_create);
RSEQ_GLIBC_BASE_SYMBOL(pthread_key_delete);
RSEQ_GLIBC_BASE_SYMBOL(pthread_getspecific);
RSEQ_GLIBC_BASE_SYMBOL(pthread_setspecific);
RSEQ_GLIBC_BASE_SYMBOL(pthread_kill);
RSEQ_GLIBC_BASE_SYMBOL(pthread_mutex_trylock);
RSEQ_GLIBC_BASE_SYMBOL(pthread_once);
RSEQ_GLIBC_BASE_SYMBOL(pthread_sigmask);
RSEQ_GLIBC_BASE_SYMBOL(pthread_rwlock_destroy);
RSEQ_GLIBC_BASE_SYMBOL(pthread_rwlock_init);
RSEQ_GLIBC_BASE_SYMBOL(pthread_rwlock_rdlock);
RSEQ_GLIBC_BASE_SYMBOL(pthread_rwlock_tryrdlock);
RSEQ_GLIBC_BASE_SYMBOL(pthread_rwlock_trywrlock);
RSEQ_GLIBC_BASE_SYMBOL(pthread_rwlock_unlock);
RSEQ_GLIBC_BASE_SYMBOL(pthread_rwlock_wrlock);
RSEQ_GLIBC_BASE_SYMBOL(pthread_spin_destroy);
RSEQ_GLIBC_BASE_SYMBOL(pthread_spin_init);
RSEQ_GLIBC_BASE_SYMBOL(pthread_spin_lock);
RSEQ_GLIBC_BASE_SYMBOL(pthread_spin_trylock);
RSEQ_GLIBC_BASE_SYMBOL(pthread_spin_unlock);
RSEQ_GLIBC_BASE_SYMBOL(sem_destroy);
RSEQ_GLIBC_BASE_SYMBOL(sem_getvalue);
RSEQ_GLIBC_BASE_SYMBOL(sem_init);
RSEQ_GLIBC_BASE_SYMBOL(sem_post);
RSEQ_GLIBC_BASE_SYMBOL(sem_timedwait);
RSEQ_GLIBC_BASE_SYMBOL(sem_trywait);
RSEQ_GLIBC_BASE_SYMBOL(sem_wait);
#undef RSEQ_GLIBC_BASE_SYMBOL
#endif

#endif  // RSEQ_NATIVE_GLIBC_COMPAT_H_

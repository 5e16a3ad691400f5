// native/prebuild_compat.cc - compiled into the prebuilt addons only
// (scripts/prebuild.cjs; see native/glibc_compat.h).
//
// GCC 12's <new> and <vector> call std::__throw_bad_array_new_length(), which
// libstdc++ exports only since GLIBCXX_3.4.29 (GCC 11): a reference to it
// would keep the addon from loading beside an older libstdc++ (the official
// Node binaries need only GLIBCXX_3.4.21). This definition satisfies those
// calls (the dynamic loader takes libstdc++'s own where it has one: the addon
// is loaded after it). They are never reached (every length comes
// from a checked value), and std::bad_array_new_length is a std::bad_alloc,
// which this raises the way the library's own would (GLIBCXX_3.4).
#include <bits/functexcept.h>  // std::__throw_bad_alloc (GLIBCXX_3.4)
#include <new>

namespace std {
void __throw_bad_array_new_length() { __throw_bad_alloc(); }
}  // namespace std

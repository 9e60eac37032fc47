// Names the binding lets through to JavaScript.
//
// Linux names are bytes; JavaScript strings are Unicode. A name that is not
// valid UTF-8 would reach JavaScript with its bad bytes turned into U+FFFD, so
// `caf\xe8` and `caf\xe9` would become the same name and one file would replace
// the other. The binding refuses such names (EILSEQ) instead.
#pragma once

#include <cstddef>

namespace tierfs {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800–U+DFFF),
// nothing above U+10FFFF, no truncated sequences. `s` is NUL-terminated.
bool isValidUtf8(const char* s);

}  // namespace tierfs

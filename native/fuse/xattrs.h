// f*xattr calls for JavaScript: the backing files' and directories' extended attributes.
#pragma once

#include <napi.h>

namespace tierfs {

void defineXattrs(Napi::Env env, Napi::Object exports);

}  // namespace tierfs

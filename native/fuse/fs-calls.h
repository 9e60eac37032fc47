// File calls for JavaScript that Node lacks: f*xattr and fallocate on descriptors.
#pragma once

#include <napi.h>

namespace tierfs {

void defineFsCalls(Napi::Env env, Napi::Object exports);

}  // namespace tierfs

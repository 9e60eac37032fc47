#include "fastpath.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace tierfs {

void serveRead(fuse_req_t req, FileHandle* h, size_t size, off_t off, bool splice) {
  // Counted before the reply: once the kernel has the data it may release the
  // handle, and release frees it.
  h->countRead(off, h->readableBytes(off, size));
  replyFromFd(req, h->fd, off, size, splice);
}

void replyFromFd(fuse_req_t req, int fd, off_t pos, size_t size, bool splice) {
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = static_cast<enum fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  buf.buf[0].fd = fd;
  buf.buf[0].pos = pos;
  fuse_reply_data(req, &buf, splice ? static_cast<enum fuse_buf_copy_flags>(0) : FUSE_BUF_NO_SPLICE);
}

void serveWrite(fuse_req_t req, FileHandle* h, struct fuse_bufvec* in, off_t off) {
  struct fuse_bufvec dst = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  dst.buf[0].flags = static_cast<enum fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  dst.buf[0].fd = h->fd;
  dst.buf[0].pos = off;
  ssize_t n = fuse_buf_copy(&dst, in, static_cast<enum fuse_buf_copy_flags>(0));
  if (n < 0) {
    fuse_reply_err(req, static_cast<int>(-n));
    return;
  }
  h->countWrite(off, static_cast<uint64_t>(n));
  fuse_reply_write(req, static_cast<size_t>(n));
}

void serveCopyFileRange(fuse_req_t req, FileHandle* in, off_t offIn, FileHandle* out, off_t offOut,
                        size_t len) {
  loff_t from = offIn, to = offOut;
  ssize_t n = copy_file_range(in->fd, &from, out->fd, &to, len, 0);
  if (n < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  in->countRead(offIn, static_cast<uint64_t>(n));
  out->countWrite(offOut, static_cast<uint64_t>(n));
  fuse_reply_write(req, static_cast<size_t>(n));
}

ssize_t copyPayload(struct fuse_bufvec* in, char** data) {
  size_t len = fuse_buf_size(in);
  char* mem = static_cast<char*>(malloc(len ? len : 1));
  *data = nullptr;
  if (!mem) return -ENOMEM;
  struct fuse_bufvec dst = FUSE_BUFVEC_INIT(len);
  dst.buf[0].mem = mem;
  ssize_t n = fuse_buf_copy(&dst, in, static_cast<enum fuse_buf_copy_flags>(0));
  if (n < 0) {
    free(mem);
    return n;
  }
  *data = mem;
  return n;
}

}  // namespace tierfs

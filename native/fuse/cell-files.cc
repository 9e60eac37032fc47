#include "cell-files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "crc32.h"
#include "fastpath.h"

namespace tierfs {
namespace {

bool sameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Reads exactly len bytes at pos, or fails.
bool preadAll(int fd, char* into, size_t len, uint64_t pos) {
  while (len > 0) {
    ssize_t n = pread(fd, into, len, static_cast<off_t>(pos));
    if (n <= 0) return false;
    into += n;
    len -= static_cast<size_t>(n);
    pos += static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

void CellCounts::noteRead(const std::shared_ptr<CellFile>& cell) {
  if (cell->listed.exchange(true, std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(mu_);
  read_.push_back(cell);
}

std::vector<std::string> CellCounts::takeRead() {
  std::vector<std::shared_ptr<CellFile>> taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    taken.swap(read_);
  }
  std::vector<std::string> paths;
  for (const auto& cell : taken) {
    cell->listed.store(false, std::memory_order_relaxed);
    paths.push_back(cell->path());
  }
  return paths;
}

CellFile::CellFile(uint64_t offset, uint64_t length, std::string path, uint32_t blockSize, std::vector<uint32_t> crcs,
                   ino_t checkedIno, struct timespec checkedAt, std::vector<bool> checkedBlocks, bool ofBlocks)
    : offset(offset), length(length), path_(std::move(path)), blockSize_(blockSize), crcs_(std::move(crcs)),
      checkedIno_(checkedIno), checkedAt_(checkedAt), checkedBlocks_(std::move(checkedBlocks)), ofBlocks_(ofBlocks) {}

CellFile::~CellFile() {
  if (fd_ >= 0) close(fd_);
}

CellFile::State CellFile::ready(uint64_t from, uint64_t len, int* fd, CellCounts& counts) {
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st;
  if (fd_ < 0) {
    fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return State::Gone;
    if (fstat(fd_, &st) != 0) return State::Gone;
  } else {
    if (fstat(fd_, &st) != 0) return State::Gone;
  }
  if (checked_.empty() || !sameTime(st.st_ctim, ctime_)) {
    // Unchanged since JavaScript found it good: every block is (of a file of blocks, those it named).
    if (st.st_ino == checkedIno_ && sameTime(st.st_ctim, checkedAt_)) checked_ = checkedBlocks_;
    else checked_.assign(crcs_.size(), false);
    ctime_ = st.st_ctim;
  }
  if (static_cast<uint64_t>(st.st_size) != length) return State::Bad;
  const size_t first = from / blockSize_;
  const size_t last = (from + len - 1) / blockSize_;
  for (size_t i = first; i <= last; i++) {
    if (checked_[i]) continue;
    State s = checkBlock(i, counts);
    if (s != State::Ready) return s;
    checked_[i] = true;
  }
  *fd = fd_;
  return State::Ready;
}

CellFile::State CellFile::checkBlock(size_t index, CellCounts& counts) {
  if (index >= crcs_.size()) return State::Bad;
  const uint64_t start = static_cast<uint64_t>(index) * blockSize_;
  const size_t len = static_cast<size_t>(std::min<uint64_t>(blockSize_, length - start));
  // A hole where the block starts: not read yet (blocks are written whole). Where the
  // filesystem cannot tell holes, a hole reads as zeros and fails its CRC below, unless
  // the block's bytes are zeros: then they are right.
  off_t data = lseek(fd_, static_cast<off_t>(start), SEEK_DATA);
  if (data < 0 ? errno == ENXIO : static_cast<uint64_t>(data) != start) return State::Missing;
  thread_local std::vector<char> block;
  block.resize(blockSize_);
  counts.blocksChecked.fetch_add(1, std::memory_order_relaxed);
  // Read twice before it is called bad: a file of blocks is written in place, and a read
  // may meet a block half written (a whole file's bytes never change: the second read
  // fails as the first did).
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!preadAll(fd_, block.data(), len, start)) return State::Bad;
    if (tierfs_crc32(0, reinterpret_cast<const uint8_t*>(block.data()), len) == crcs_[index]) return State::Ready;
  }
  // Zeros in a file of blocks: a hole where the filesystem could not say so (no SEEK_DATA,
  // or one that stores zeros as holes), not damage. JavaScript fetches the block.
  if (ofBlocks_ && std::all_of(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(len), [](char b) { return b == 0; })) return State::Missing;
  return State::Bad;
}

void CellFiles::add(uint64_t fileSize, std::shared_ptr<CellFile> cell) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  size_ = fileSize;
  auto [it, added] = cells_.emplace(cell->offset, cell);
  if (!added && it->second->path() != cell->path()) it->second = std::move(cell);
}

void CellFiles::clear() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  cells_.clear();
}

void CellFiles::forget(const std::shared_ptr<CellFile>& cell) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = cells_.find(cell->offset);
  if (it != cells_.end() && it->second == cell) cells_.erase(it);
}

bool CellFiles::serve(fuse_req_t req, uint64_t off, size_t size, bool splice, CellCounts& counts,
                      const std::function<void(uint64_t bytes)>& served) {
  // The cells that hold the range, each kept alive (its descriptor open) while it is read.
  struct Piece {
    std::shared_ptr<CellFile> cell;
    uint64_t from, len;  // within the cell
  };
  std::vector<Piece> pieces;
  uint64_t end;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (cells_.empty()) return false;
    end = std::min<uint64_t>(off + size, size_);
    for (uint64_t pos = off; pos < end;) {
      auto it = cells_.upper_bound(pos);
      if (it == cells_.begin()) return false;
      const auto& cell = (--it)->second;
      if (pos >= cell->offset + cell->length) return false;  // a cell not held here
      uint64_t len = std::min(end, cell->offset + cell->length) - pos;
      pieces.push_back({cell, pos - cell->offset, len});
      pos += len;
    }
  }
  std::vector<int> fds(pieces.size());
  for (size_t i = 0; i < pieces.size(); i++) {
    CellFile::State s = pieces[i].cell->ready(pieces[i].from, pieces[i].len, &fds[i], counts);
    if (s == CellFile::State::Ready) continue;
    if (s == CellFile::State::Missing) return false;  // JavaScript fetches the blocks; the cell stays
    if (s == CellFile::State::Bad) counts.rejected.fetch_add(1, std::memory_order_relaxed);
    forget(pieces[i].cell);
    return false;
  }
  const uint64_t total = end > off ? end - off : 0;
  auto account = [&] {
    for (const auto& p : pieces) counts.noteRead(p.cell);
    counts.reads.fetch_add(1, std::memory_order_relaxed);
    counts.bytes.fetch_add(total, std::memory_order_relaxed);
    served(total);
  };
  if (pieces.size() == 1) {
    // One cell: its file's pages go on to the kernel as a local file's do.
    account();
    replyFromFd(req, fds[0], static_cast<off_t>(pieces[0].from), pieces[0].len, splice);
  } else {
    // Across cells (or nothing, at the end of the file): gathered into one buffer.
    char* out = static_cast<char*>(malloc(total ? total : 1));
    if (!out) return false;
    uint64_t at = 0;
    for (size_t i = 0; i < pieces.size(); i++) {
      if (!preadAll(fds[i], out + at, pieces[i].len, pieces[i].from)) {
        free(out);
        forget(pieces[i].cell);
        return false;
      }
      at += pieces[i].len;
    }
    account();
    fuse_reply_buf(req, out, total);
    free(out);
  }
  return true;
}

}  // namespace tierfs

// Cells of a cold file that the recall cache holds as files on local disk, read by
// the binding itself: a read of a handle whose whole range lies in such cells is
// answered from their files on the FUSE thread, without a trip through JavaScript.
//
// JavaScript says which cells it has for a handle (where each starts in the file, its
// length, its file's path, the CRC-32 of each block, and the file's ctime when its whole
// content was last checked, if it knows one). The binding opens a cell's file at its
// first read. A file whose ctime is still the one JavaScript checked it at is served as
// it is, like a file on a local tier; otherwise each block is checked against its CRC
// the first time it is served and again after any change of the file's ctime (a write
// to it, a touch). A cell whose file is gone or fails a check is forgotten and the read
// goes to JavaScript, which fetches the cell again or rebuilds it from parity.
//
// A cell file never gets other bytes under its name (the recall cache writes a new one
// under a temporary name and renames it), and one evicted while a handle reads it stays
// readable through the descriptor opened here until the handle closes. The exception is
// a cell's file of blocks (disk-cache.ts, addBlocks): a sparse file that holds the blocks
// read so far, written in place. A block that is a hole there sends the read to
// JavaScript and leaves the cell in place; its data blocks are checked as any others,
// after every write to the file (each one changes its ctime). A handle given the whole
// cell's file after its file of blocks (the cell was fetched whole since) takes it.
#pragma once

#include <fuse_lowlevel.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace tierfs {

class CellFile;

// What the binding served from cell files: counts for the daemon's metrics, and the
// files read since JavaScript last asked, whose recency in the recall cache it keeps
// (it sees none of these reads itself).
struct CellCounts {
  std::atomic<uint64_t> reads{0}, bytes{0}, blocksChecked{0}, rejected{0};

  void noteRead(const std::shared_ptr<CellFile>& cell);
  // The paths of the files read since the last call.
  std::vector<std::string> takeRead();

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<CellFile>> read_;
};

class CellFile {
 public:
  // checkedIno, checkedAt: the inode and ctime with which the file was found good
  // ({-1, -1}: not known), then every block of it, or (ofBlocks: a file of blocks) those
  // flagged in checkedBlocks. Both must match: a file made again under the path within
  // one tick of a coarse clock has the ctime, and seldom the inode too (a filesystem may
  // give a freed number to the next file it makes).
  CellFile(uint64_t offset, uint64_t length, std::string path, uint32_t blockSize, std::vector<uint32_t> crcs,
           ino_t checkedIno, struct timespec checkedAt, std::vector<bool> checkedBlocks, bool ofBlocks);
  ~CellFile();
  CellFile(const CellFile&) = delete;
  CellFile& operator=(const CellFile&) = delete;

  const uint64_t offset;  // of the cell's first byte in the file
  const uint64_t length;
  const std::string& path() const { return path_; }
  // Set when the cell is listed in CellCounts' reads, until they are taken.
  std::atomic<bool> listed{false};

  // Missing: a block is a hole (a file of blocks holds only those read so far).
  enum class State { Ready, Gone, Bad, Missing };
  // Makes sure every block that holds [from, from+len) of the cell was checked since
  // the file last changed; on Ready, *fd is the descriptor to read them from.
  State ready(uint64_t from, uint64_t len, int* fd, CellCounts& counts);

 private:
  State checkBlock(size_t index, CellCounts& counts);

  const std::string path_;
  const uint32_t blockSize_;
  const std::vector<uint32_t> crcs_;
  std::mutex mu_;
  int fd_ = -1;
  const ino_t checkedIno_;
  const struct timespec checkedAt_;
  const std::vector<bool> checkedBlocks_;
  const bool ofBlocks_;
  struct timespec ctime_ {};
  std::vector<bool> checked_;
};

// The cells one handle may be served from. Written by JavaScript's thread, read by
// FUSE threads.
class CellFiles {
 public:
  // The file's size (reads past it are short) and a cell; a cell at an offset that
  // already has one is ignored, unless it is another file (the whole cell's, given
  // after its file of blocks).
  void add(uint64_t fileSize, std::shared_ptr<CellFile> cell);
  void clear();
  // Answers a read whose whole range (clipped to the file) lies in cells; true when
  // answered, false when JavaScript must. Just before the reply, served(bytes) is
  // called: once the kernel has its data it may release the handle.
  bool serve(fuse_req_t req, uint64_t off, size_t size, bool splice, CellCounts& counts,
             const std::function<void(uint64_t bytes)>& served);

 private:
  void forget(const std::shared_ptr<CellFile>& cell);

  std::shared_mutex mu_;
  uint64_t size_ = 0;
  std::map<uint64_t, std::shared_ptr<CellFile>> cells_;  // by offset in the file
};

}  // namespace tierfs

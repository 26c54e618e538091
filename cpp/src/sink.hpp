// The data file: whole lines only, from one writer (btclib/sink.py).
//
// Every connection's reader runs on the one I/O thread and appends whole lines to a buffer;
// a writer thread swaps the buffer out and writes it with write(2) on a file opened O_APPEND.
// So two connections never interleave inside a line, a slow disk does not stall reading, and
// what is in the file is always a run of whole lines (a line is appended to the buffer in one
// call, and a buffer of whole lines is written in full or the run stops with the error).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "contract.hpp"
#include "parsed.hpp"

namespace btcrec {

class LineSink {
public:
    // Opens (creates, appends to) `path`, making its folder; throws std::runtime_error
    // "cannot write PATH: reason" before anything connects.
    explicit LineSink(std::string path, std::size_t max_queued = contract::max_queued_bytes);
    ~LineSink();
    LineSink(const LineSink&) = delete;
    LineSink& operator=(const LineSink&) = delete;

    // Append one data line. Waits (rarely) when the disk is max_queued bytes behind.
    void write(const Stream& stream, const Parsed& parsed);
    // Append whole lines (a read's worth, built by the caller; `lines` is left empty): one
    // lock for all of them. Waits (rarely) when the disk is max_queued bytes behind.
    void write_lines(std::string& lines);

    // Write what is queued and stop the writer; returns the error text, empty when none.
    std::string close();

    // Set by the writer when a write failed ("PATH: No space left on device").
    bool failed() const;
    std::string error() const;
    const std::string& path() const { return path_; }
    std::uint64_t bytes_written() const;

private:
    // The writer writes when batch_bytes are queued or `gather` after the first queued line,
    // whichever comes first (and at close): one wake-up and one write(2) per chunk, not per line.
    static constexpr std::size_t batch_bytes = contract::flush_bytes;
    static constexpr std::chrono::milliseconds gather{1};

    std::string path_;
    int fd_ = -1;
    std::size_t max_queued_;
    mutable std::mutex mutex_;
    std::condition_variable wake_writer_, room_;
    std::string front_;  // lines appended by the I/O thread
    std::size_t writing_ = 0;  // bytes the writer took and has not written yet
    bool closing_ = false;
    std::string error_;
    std::uint64_t written_ = 0;
    std::thread writer_;

    void run();
};

}  // namespace btcrec

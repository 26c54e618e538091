#include "sink.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

namespace btcrec {

LineSink::LineSink(std::string path, std::size_t max_queued)
    : path_(std::move(path)), max_queued_(max_queued) {
    std::error_code ec;
    auto folder = std::filesystem::path(path_).parent_path();
    if (!folder.empty()) std::filesystem::create_directories(folder, ec);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
    // One writer a file, as btclib's (btclib/files/datafile.py: flock, held while open): two
    // recorders appending to one file would interleave their lines.
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("cannot write " + path_ + ": " +
                                 (err == EWOULDBLOCK ? "another btclib recorder is writing to this file right now"
                                                     : std::strerror(err)));
    }
    writer_ = std::thread([this] { run(); });
}

LineSink::~LineSink() {
    close();
}

void LineSink::write(const Stream& stream, const Parsed& parsed) {
    std::unique_lock lock(mutex_);
    if (front_.size() + writing_ >= max_queued_)
        room_.wait(lock, [this] { return front_.size() + writing_ < max_queued_ || !error_.empty(); });
    std::size_t before = front_.size();
    append_line(front_, stream, parsed);
    bool wake = before == 0 || (before < batch_bytes && front_.size() >= batch_bytes);
    lock.unlock();
    if (wake) wake_writer_.notify_one();
}

void LineSink::write_lines(std::string& lines) {
    if (lines.empty()) return;
    std::unique_lock lock(mutex_);
    if (front_.size() + writing_ >= max_queued_)
        room_.wait(lock, [this] { return front_.size() + writing_ < max_queued_ || !error_.empty(); });
    std::size_t before = front_.size();
    if (before == 0) front_.swap(lines);  // the usual case: no copy
    else front_.append(lines);
    bool wake = before == 0 || (before < batch_bytes && front_.size() >= batch_bytes);
    lock.unlock();
    lines.clear();
    if (wake) wake_writer_.notify_one();
}

void LineSink::run() {
    std::string back;
    std::unique_lock lock(mutex_);
    while (true) {
        wake_writer_.wait(lock, [this] { return !front_.empty() || closing_; });
        if (front_.empty() && closing_) return;
        // Gather for up to `gather` (woken early by batch_bytes or close): at a flood, waking
        // this thread for every line or two cost more than the writes (cpp/README.md, "Where
        // the time goes"); lines still reach the file within about a millisecond.
        if (!closing_ && front_.size() < batch_bytes)
            wake_writer_.wait_for(lock, gather, [this] { return front_.size() >= batch_bytes || closing_; });
        back.swap(front_);
        writing_ = back.size();  // still queued (counted against max_queued) until written
        lock.unlock();
        std::size_t done = 0;
        std::string failure;
        while (done < back.size()) {
            ssize_t n = ::write(fd_, back.data() + done, back.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                failure = path_ + ": " + std::strerror(errno);
                break;
            }
            done += static_cast<std::size_t>(n);
        }
        back.clear();
        lock.lock();
        written_ += done;
        writing_ = 0;
        room_.notify_all();
        if (!failure.empty()) {
            error_ = failure;
            front_.clear();
            room_.notify_all();
            return;
        }
    }
}

std::string LineSink::close() {
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
    }
    wake_writer_.notify_one();
    if (writer_.joinable()) writer_.join();
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    return error();
}

bool LineSink::failed() const {
    std::lock_guard lock(mutex_);
    return !error_.empty();
}

std::string LineSink::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

std::uint64_t LineSink::bytes_written() const {
    std::lock_guard lock(mutex_);
    return written_;
}

}  // namespace btcrec

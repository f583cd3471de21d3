// dpbench's shared helpers (bench/bench_util.h): sizes, and the memory a cgroup limit leaves,
// read from fake cgroup trees (v1 and v2, nested limits, page cache, namespaces).
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "bench/bench_util.h"
#include "src/util/check.h"
#include "src/util/fs.h"
#include "tests/data/data_test_util.h"

using dp::test::TempDir;

namespace {

void write_text(const std::string& path, const std::string& text) {
  dp::make_dirs(dp::parent_dir(path), "test");
  std::ofstream(path) << text;
}

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

TEST_CASE("parse_size reads sizes with K/M/G and refuses the rest", "[bench]") {
  CHECK(dp::bench::parse_size("8", "--min-bytes") == 8);
  CHECK(dp::bench::parse_size("64K", "--min-bytes") == 64u << 10);
  CHECK(dp::bench::parse_size("1m", "--min-bytes") == 1u << 20);
  CHECK(dp::bench::parse_size("1G", "--min-bytes") == 1u << 30);
  CHECK_THROWS_AS(dp::bench::parse_size("2", "--min-bytes"), dp::UserError);
  CHECK_THROWS_AS(dp::bench::parse_size("1T", "--min-bytes"), dp::UserError);
  CHECK_THROWS_AS(dp::bench::parse_size("65G", "--max-bytes"), dp::UserError);
}

TEST_CASE("cgroup_headroom_bytes: the smallest limit - usage up the hierarchy", "[bench]") {
  TempDir tmp;
  const std::string root = tmp.file("cg"), proc = tmp.file("proc-cgroup");

  SECTION("v2: the job's limit above an unlimited task, page cache counted as free") {
    write_text(proc, "0::/job_7/step_0/task_0\n");
    write_text(root + "/job_7/memory.max", std::to_string(1024 * 1024 * 1024) + "\n");
    write_text(root + "/job_7/memory.current", std::to_string(700 * 1024 * 1024) + "\n");
    write_text(root + "/job_7/memory.stat",
               "anon 1\ninactive_file " + std::to_string(100 * 1024 * 1024) + "\n");
    write_text(root + "/job_7/step_0/task_0/memory.max", "max\n");
    write_text(root + "/job_7/step_0/task_0/memory.current", "4096\n");
    CHECK(dp::bench::cgroup_headroom_bytes(root, proc) == Approx(424 * kMiB));
  }
  SECTION("v2: a tighter inner limit wins") {
    write_text(proc, "0::/a/b\n");
    write_text(root + "/a/memory.max", std::to_string(1000 * 1024 * 1024) + "\n");
    write_text(root + "/a/memory.current", "0\n");
    write_text(root + "/a/b/memory.max", std::to_string(300 * 1024 * 1024) + "\n");
    write_text(root + "/a/b/memory.current", std::to_string(100 * 1024 * 1024) + "\n");
    CHECK(dp::bench::cgroup_headroom_bytes(root, proc) == Approx(200 * kMiB));
  }
  SECTION("v1 in a cgroup namespace: the mount point is the process's cgroup") {
    write_text(proc, "5:cpu,cpuacct:/\n4:memory:/outside/view\n0::/\n");
    write_text(root + "/memory/memory.limit_in_bytes", std::to_string(512 * 1024 * 1024) + "\n");
    write_text(root + "/memory/memory.usage_in_bytes", std::to_string(12 * 1024 * 1024) + "\n");
    CHECK(dp::bench::cgroup_headroom_bytes(root, proc) == Approx(500 * kMiB));
  }
  SECTION("no limit: v1's huge number, v2's max, or nothing to read") {
    write_text(proc, "4:memory:/\n0::/\n");
    write_text(root + "/memory/memory.limit_in_bytes", "9223372036854771712\n");
    write_text(root + "/memory/memory.usage_in_bytes", "2572038144\n");
    write_text(root + "/memory.max", "max\n");
    write_text(root + "/memory.current", "1\n");
    CHECK(dp::bench::cgroup_headroom_bytes(root, proc) < 0);
    CHECK(dp::bench::cgroup_headroom_bytes(root, tmp.file("missing")) < 0);
  }
  SECTION("v2: a leaf without the memory controller under a limited parent") {
    write_text(proc, "0::/job/step\n");
    write_text(root + "/job/memory.max", std::to_string(256 * 1024 * 1024) + "\n");
    write_text(root + "/job/memory.current", "0\n");
    dp::make_dirs(root + "/job/step", "test");
    CHECK(dp::bench::cgroup_headroom_bytes(root, proc) == Approx(256 * kMiB));
  }
  SECTION("usage over the limit leaves nothing") {
    write_text(proc, "0::/\n");
    write_text(root + "/memory.max", "1000\n");
    write_text(root + "/memory.current", "5000\n");
    CHECK(dp::bench::cgroup_headroom_bytes(root, proc) == 0.0);
  }
}

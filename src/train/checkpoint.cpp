#include "src/train/checkpoint.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "src/data/file_bytes.h"
#include "src/data/sources.h"
#include "src/util/check.h"
#include "src/util/fs.h"
#include "src/util/json_depth.h"

namespace dp {
namespace {

constexpr char kMagic[8] = {'D', 'P', 'C', 'K', 'P', 'T', '0', '1'};
constexpr int kVersion = 1;
constexpr const char* kPrefix = "ckpt-step";
constexpr const char* kSuffix = ".dpckpt";

// zlib's crc32 takes uInt lengths: feed large buffers in pieces.
std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t nbytes) {
  const auto* p = static_cast<const Bytef*>(data);
  while (nbytes > 0) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(nbytes, 1u << 30));
    crc = static_cast<std::uint32_t>(::crc32(crc, p, n));
    p += n;
    nbytes -= n;
  }
  return crc;
}

std::string checkpoint_name(std::int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%010lld%s", kPrefix, static_cast<long long>(step), kSuffix);
  return buf;
}

// Step encoded in a checkpoint file name, or -1 when the name is not one of ours.
std::int64_t step_of(const std::string& name) {
  const std::size_t plen = std::strlen(kPrefix), slen = std::strlen(kSuffix);
  if (name.size() <= plen + slen || name.compare(0, plen, kPrefix) != 0 ||
      name.compare(name.size() - slen, slen, kSuffix) != 0)
    return -1;
  std::int64_t step = 0;
  for (std::size_t i = plen; i < name.size() - slen; ++i) {
    if (name[i] < '0' || name[i] > '9' || step > (INT64_MAX - 9) / 10) return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

nlohmann::ordered_json layout_json(const std::vector<TensorView>& layout) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& t : layout)
    out.push_back({{"name", t.name}, {"shape", t.shape}, {"offset", t.offset}, {"count", t.count}});
  return out;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Writes all of `nbytes` or returns false.
bool write_all(std::FILE* f, const void* data, std::size_t nbytes) {
  return nbytes == 0 || std::fwrite(data, 1, nbytes, f) == nbytes;
}

void remove_stale_temporaries(const std::string& dir) {
  for (const std::string& name : list_dir(dir))
    if (name.rfind(".ckpt-step", 0) == 0 && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0)
      std::remove((dir + "/" + name).c_str());
}

}  // namespace

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<std::int64_t, std::string>> found;
  for (const std::string& name : list_dir(dir)) {
    const std::int64_t step = step_of(name);
    if (step >= 0) found.emplace_back(step, dir + "/" + name);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

void ensure_writable_dir(const std::string& dir, const std::string& flag) {
  make_dirs(dir, flag);
  DP_USER_CHECK(::access(dir.c_str(), W_OK | X_OK) == 0, flag, ": directory ", dir,
                " is not writable: ", std::strerror(errno));
}

std::string write_checkpoint(const std::string& dir, const Checkpoint& ck, int keep,
                             CheckpointFaultHook mid_write) {
  DP_CHECK(keep >= 1, "write_checkpoint: keep=", keep);
  const std::size_t n = ck.params.size();
  DP_CHECK(ck.adam_m.size() == n && ck.adam_v.size() == n, "write_checkpoint: state sizes differ");

  nlohmann::ordered_json header = {{"format", "dptrain-checkpoint"},
                                   {"version", kVersion},
                                   {"producer", "dptrain " DPTRAIN_VERSION},
                                   {"step", ck.step},
                                   {"epoch", ck.epoch},
                                   {"step_in_epoch", ck.step_in_epoch},
                                   {"adam_steps", ck.adam_steps},
                                   {"world_size", ck.world_size},
                                   {"resume_config", ck.resume_config},
                                   {"layout", layout_json(ck.layout)},
                                   {"param_count", n},
                                   {"payload_nbytes", 3 * n * sizeof(float)}};
  const std::string text = header.dump();
  std::uint8_t len_le[8];
  for (int i = 0; i < 8; ++i)
    len_le[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));

  const std::string name = checkpoint_name(ck.step);
  const std::string path = dir + "/" + name;
  const std::string tmp = dir + "/." + name.substr(0, name.size() - std::strlen(kSuffix)) + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  DP_USER_CHECK(f != nullptr, "--checkpoint-dir: cannot create ", tmp, ": ", std::strerror(errno));

  std::uint32_t crc = 0;
  auto put = [&](const void* data, std::size_t nbytes) {
    crc = crc32_update(crc, data, nbytes);
    return write_all(f, data, nbytes);
  };
  bool ok = write_all(f, kMagic, sizeof kMagic) && put(len_le, 8) && put(text.data(), text.size()) &&
            put(ck.params.data(), n * sizeof(float));
  if (ok && mid_write) {
    std::fflush(f);
    mid_write();
  }
  ok = ok && put(ck.adam_m.data(), n * sizeof(float)) && put(ck.adam_v.data(), n * sizeof(float));
  std::uint8_t crc_le[4];
  for (int i = 0; i < 4; ++i) crc_le[i] = static_cast<std::uint8_t>(crc >> (8 * i));
  ok = ok && write_all(f, crc_le, 4) && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  int saved_errno = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    saved_errno = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    throw UserError(concat("--checkpoint-dir: writing ", path, " failed: ", std::strerror(saved_errno),
                           " (the previous checkpoints are untouched)"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    saved_errno = errno;
    std::remove(tmp.c_str());
    throw UserError(
        concat("--checkpoint-dir: cannot rename ", tmp, " to ", path, ": ", std::strerror(saved_errno)));
  }
  fsync_dir(dir);  // best effort: some file systems refuse fsync on directories

  // Rotation: the newest `keep` stay; stale temporaries of crashed writers go too.
  const std::vector<std::string> all = list_checkpoints(dir);
  for (std::size_t i = static_cast<std::size_t>(keep); i < all.size(); ++i) std::remove(all[i].c_str());
  remove_stale_temporaries(dir);
  return path;
}

Checkpoint parse_checkpoint(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  DP_USER_CHECK(
      bytes.size() >= sizeof kMagic + 8 + 4 && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0, path,
      ": not a dptrain checkpoint (bad magic or too short: ", bytes.size(), " bytes)");
  std::uint64_t header_nbytes = 0;
  for (int i = 7; i >= 0; --i)
    header_nbytes = (header_nbytes << 8) | bytes[sizeof kMagic + static_cast<std::size_t>(i)];
  const std::size_t header_at = sizeof kMagic + 8;
  const std::size_t room = bytes.size() - header_at - 4;  // bytes between the length field and the CRC
  DP_USER_CHECK(header_nbytes <= room, path, ": truncated checkpoint (header of ", header_nbytes,
                " bytes, only ", room, " present)");
  const std::uint64_t payload_present = room - header_nbytes;

  // The CRC covers everything after the magic; check it before trusting any field.
  std::uint32_t stored = 0;
  for (int i = 3; i >= 0; --i) stored = (stored << 8) | bytes[bytes.size() - 4 + static_cast<std::size_t>(i)];
  const std::uint32_t actual =
      crc32_update(0, bytes.data() + sizeof kMagic, bytes.size() - sizeof kMagic - 4);
  DP_USER_CHECK(stored == actual, path, ": corrupt or truncated checkpoint (CRC-32 mismatch)");

  DP_USER_CHECK(json_nesting_depth(bytes.data() + header_at, header_nbytes) <= 64, path,
                ": checkpoint header nests deeper than 64 levels (see src/util/json_depth.h)");
  const auto header =
      nlohmann::ordered_json::parse(bytes.begin() + static_cast<std::ptrdiff_t>(header_at),
                                    bytes.begin() + static_cast<std::ptrdiff_t>(header_at + header_nbytes),
                                    nullptr, /*allow_exceptions=*/false);
  // (Comparisons, not value(): value() throws nlohmann's type_error on a field of another type.)
  DP_USER_CHECK(header.is_object() && header.contains("format") && header["format"] == "dptrain-checkpoint",
                path, ": checkpoint header is not valid JSON of a dptrain checkpoint");
  DP_USER_CHECK(header.contains("version") && header["version"] == kVersion, path,
                ": checkpoint format version ",
                header.contains("version") ? header["version"].dump() : "(none)",
                " is not supported (this dptrain reads version ", kVersion, ")");
  auto get_int = [&](const char* key) {
    DP_USER_CHECK(
        header.contains(key) && header[key].is_number_integer() && header[key].get<std::int64_t>() >= 0, path,
        ": checkpoint header field '", key, "' is missing or invalid");
    return header[key].get<std::int64_t>();
  };
  Checkpoint ck;
  ck.step = get_int("step");
  ck.epoch = get_int("epoch");
  ck.step_in_epoch = get_int("step_in_epoch");
  ck.adam_steps = get_int("adam_steps");
  ck.world_size = static_cast<int>(std::min<std::int64_t>(get_int("world_size"), INT32_MAX));
  const std::int64_t n = get_int("param_count");
  DP_USER_CHECK(static_cast<std::uint64_t>(n) <= payload_present / (3 * sizeof(float)) &&
                    static_cast<std::uint64_t>(get_int("payload_nbytes")) ==
                        3 * sizeof(float) * static_cast<std::uint64_t>(n) &&
                    payload_present == 3 * sizeof(float) * static_cast<std::uint64_t>(n),
                path, ": checkpoint payload size does not match its header");
  DP_USER_CHECK(header.contains("resume_config") && header["resume_config"].is_object(), path,
                ": checkpoint header lacks its resume configuration");
  ck.resume_config = header["resume_config"];

  DP_USER_CHECK(header.contains("layout") && header["layout"].is_array(), path,
                ": checkpoint header lacks its layout");
  std::int64_t covered = 0;
  for (const auto& t : header["layout"]) {
    DP_USER_CHECK(t.is_object() && t.contains("name") && t["name"].is_string() && t.contains("shape") &&
                      t["shape"].is_array() && t.contains("offset") && t["offset"].is_number_integer() &&
                      t.contains("count") && t["count"].is_number_integer(),
                  path, ": malformed tensor entry in the checkpoint layout");
    TensorView v;
    v.name = t["name"].get<std::string>();
    v.offset = t["offset"].get<std::int64_t>();
    v.count = t["count"].get<std::int64_t>();
    std::int64_t product = 1;
    for (const auto& d : t["shape"]) {
      DP_USER_CHECK(d.is_number_integer() && d.get<std::int64_t>() > 0 && d.get<std::int64_t>() <= n, path,
                    ": tensor '", v.name, "' has a bad dimension in the checkpoint layout");
      v.shape.push_back(d.get<std::int64_t>());
      DP_USER_CHECK(product <= n / v.shape.back(), path, ": tensor '", v.name,
                    "' is larger than the checkpoint");
      product *= v.shape.back();
    }
    DP_USER_CHECK(v.offset == covered && v.count == product && v.count <= n - covered, path, ": tensor '",
                  v.name, "' does not follow the previous one in the checkpoint layout");
    covered += v.count;
    ck.layout.push_back(std::move(v));
  }
  DP_USER_CHECK(covered == n, path, ": checkpoint layout covers ", covered, " of ", n, " parameters");

  const std::uint8_t* payload = bytes.data() + header_at + header_nbytes;
  const auto count = static_cast<std::size_t>(n);
  ck.params.resize(count);
  ck.adam_m.resize(count);
  ck.adam_v.resize(count);
  if (count) {
    std::memcpy(ck.params.data(), payload, count * sizeof(float));
    std::memcpy(ck.adam_m.data(), payload + count * sizeof(float), count * sizeof(float));
    std::memcpy(ck.adam_v.data(), payload + 2 * count * sizeof(float), count * sizeof(float));
  }
  return ck;
}

Checkpoint read_checkpoint(const std::string& path) {
  return parse_checkpoint(read_file_bytes(path, /*gunzip=*/false), path);
}

void check_compatible(const Checkpoint& ck, const std::string& path, const ParamLayout& layout,
                      const nlohmann::ordered_json& resume_config) {
  const auto& mine = layout.tensors();
  bool same_layout = mine.size() == ck.layout.size();
  for (std::size_t i = 0; same_layout && i < mine.size(); ++i)
    same_layout = mine[i].name == ck.layout[i].name && mine[i].shape == ck.layout[i].shape;
  if (!same_layout) {
    std::string theirs, ours;
    for (const auto& t : ck.layout)
      theirs += (theirs.empty() ? "" : ", ") + t.name + " " + shape_text(t.shape);
    for (const auto& t : mine) ours += (ours.empty() ? "" : ", ") + t.name + " " + shape_text(t.shape);
    throw UserError(
        concat(path, ": checkpoint is of another model (it holds ", theirs, "; this run builds ", ours, ")"));
  }
  const std::string diffs = settings_diff(ck.resume_config, resume_config, "the checkpoint");
  DP_USER_CHECK(
      diffs.empty(), path, ": checkpoint was written with other settings (", diffs,
      "); resume with the flags of the run that wrote it (its RUN_DIR/resume.toml holds them: --config it)");
}

std::string settings_diff(const nlohmann::ordered_json& then, const nlohmann::ordered_json& now,
                          const std::string& where) {
  // The settings as the user sets them: flags by name, derived ones with the flags behind them.
  const auto setting = [](const std::string& key) -> std::string {
    if (key == "total_steps") return "total steps (--steps/--epochs)";
    if (key == "train_samples" || key == "features" || key == "outputs") return key + " (--data)";
    return "--" + key;
  };
  // --data: runs record their data files by absolute path and compare them exactly; a
  // record with relative paths (from before they were made absolute) by the files' names.
  const auto same = [](const std::string& key, const nlohmann::ordered_json& a,
                       const nlohmann::ordered_json& b) {
    if (key == "data" && a.is_string() && b.is_string() && a != b) {
      const std::string recorded = a.get<std::string>();
      return data_spec_absolute(recorded) != recorded &&
             data_spec_identity(recorded) == data_spec_identity(b.get<std::string>());
    }
    return a == b;
  };
  std::string diffs;
  for (auto it = now.begin(); it != now.end(); ++it) {
    const bool has = then.contains(it.key());
    if (has && same(it.key(), then[it.key()], it.value())) continue;
    diffs +=
        concat(diffs.empty() ? "" : "; ", setting(it.key()), " ", has ? then[it.key()].dump() : "(absent)",
               " in ", where, " vs ", it.value().dump(), " now");
  }
  return diffs;
}

}  // namespace dp

// The mounts the agent makes for task volumes (an NFS or tmpfs Docker volume,
// a bind of a host folder, an EFS file system), counted by the tasks that use
// them: a mount is made when the first task needs it and removed when the
// last of them releases it, so two tasks on one node share one NFS mount of a
// shared volume or an EFS file system.
//
// The count lives in a file (DATA/mounts.json, written atomically before a
// mount is made and after one is removed), so it survives an agent restart:
// the adopted tasks keep theirs, and Retain drops the tasks that ended while
// no agent ran. The file also holds the boot it was written in: after a
// reboot no mount is left, and the next Acquire makes it again.
//
// Thread-safe: one lock around every change.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace berth::agent {

struct MountSpec {
  std::string fstype;       // "nfs4", "tmpfs", ...; empty for a bind
  std::string source;       // device: "HOST:/PATH", "tmpfs", or the folder bound
  unsigned long flags = 0;  // MS_*; a bind has MS_BIND, and is remounted for the others
  std::string data;         // options for the file system
  bool operator==(const MountSpec&) const = default;
};

class VolumeMounts {
 public:
  struct Options {
    Env* env = Env::Default();
    std::string state_file;  // DATA/mounts.json
    // /proc/sys/kernel/random/boot_id; mounts recorded under another are gone.
    std::string boot_id;
  };
  static StatusOr<std::unique_ptr<VolumeMounts>> Open(Options options);

  // Counts user (a task id) as a user of spec mounted at target, mounting it
  // when it is not (creating target). Once for a user is as good as twice.
  // remove_target: the folder target goes too when the mount does (one
  // the agent made for the mount alone; never recursively). A target
  // mounted with another spec for other users is FailedPrecondition. On
  // any error user is not counted and nothing is left mounted for it.
  Status Acquire(const std::string& user, const std::string& target, const MountSpec& spec,
                 bool remove_target);

  // Stops counting user anywhere; unmounts what no one uses any more (a
  // busy mount is detached: it goes once its last process does). The
  // first error, after trying every mount.
  Status Release(const std::string& user);

  // Stops counting every user not in users (tasks that ended while the agent
  // was away), as Release does.
  Status Retain(const std::set<std::string>& users);

  // For tests and logs: the users of target, sorted; empty when unknown.
  std::vector<std::string> Users(const std::string& target) const;

 private:
  struct Record {
    MountSpec spec;
    std::set<std::string> users;
    bool mounted = false;
    bool remove_target = false;
  };
  explicit VolumeMounts(Options options) : options_(std::move(options)) {}
  Status Load();
  Status Save();
  Status MountNow(const std::string& target, const MountSpec& spec);
  // Unmounts records without users; the first error. Needs mu_.
  Status UnmountUnused();

  Options options_;
  mutable std::mutex mu_;
  std::map<std::string, Record> records_;  // by target
};

}  // namespace berth::agent

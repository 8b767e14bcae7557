// Unpacks one image layer (a tar stream, plain, gzip or zstd) into a folder,
// turning OCI whiteouts into overlay whiteouts and refusing any entry that
// would write outside the folder.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "http/client.h"

namespace berth::agent {

// Reads the layer from `source` until it ends (reading the rest of the
// stream after the tar's end marker too, so that a hash fed by the producer
// sees every byte) and writes it into `dir`, which must exist.
//
//  - ownership (numeric uid/gid), modes with setuid/setgid/sticky, mtimes,
//    xattrs, symlinks, hard links within the layer, device nodes and fifos
//    are restored as in the tar (the caller runs as root);
//  - `.wh.NAME` becomes a 0/0 character device NAME, `.wh..wh..opq` the
//    xattr trusted.overlay.opaque=y on its folder;
//  - refused, with the entry's name in the error: absolute paths, `..`
//    components, entries written through a symlink, hard links to outside
//    the layer, and symlinks whose relative target climbs above the layer's
//    root (absolute targets such as /bin/busybox are fine: they are resolved
//    inside the container's root, never by the unpacker).
//
// On error dir holds a partial layer: the caller removes it. Decompresses on
// one thread of its own and unpacks on another (which gets a private working
// directory, so that every path is resolved relative to dir); blocks until
// both are done.
//
// written, when given, is called on the unpack thread after each file whose
// data was written, with the bytes of file data written so far (the caller
// starts the disk's writeback with it).
using WrittenCallback = std::function<void(uint64_t bytes_written)>;
Status UnpackLayer(http::BodySource& source, const std::string& dir,
                   const WrittenCallback& written = nullptr);

}  // namespace berth::agent

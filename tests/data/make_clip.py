#!/usr/bin/env python3
# make_clip.py -- compose test videos of real faces with known truth, and bad
# inputs, for the end-to-end tests of `faceline analyze` (issue 3).
#
# Clips are made at test time with the `ffmpeg` command from real photos:
# dlib's johns (testdata/dlib/johns, 150x150 face photos of 5 people, one
# folder per person) and face-api's group photos (models/samples).  Each
# photo is scaled and pasted on a plain background by ffmpeg's overlay filter
# with positions that are functions of t (never of the overlay's `n`, which is
# not the main frame number when overlays are chained).  The face box of a
# source photo is found once by `faceline detect --json` and mapped through the
# paste transform, so the truth box of every face at every frame is what the
# detector would say on the pasted photo, and box IoU against the analyser's
# detections is meaningful.  Nothing here is committed as video.
#
#   make_clip.py clip1 OUTDIR   A 0-4 s moving, B 4-8, A+B 8-11, nobody 11-13,
#                               A from another photo growing 13-17 s from a
#                               ~40 px face to ~200 px (640x360)
#   make_clip.py clip2 OUTDIR   three people overlapping, nobody, a crop of a
#                               group photo with two faces, the first again
#                               from another photo, small (854x480, on a
#                               blurred group photo)
#   make_clip.py bad OUTDIR     the bad inputs (see make_bad)
#   make_clip.py check CLIP     extract frames, run `faceline detect`, compare
#                               with CLIP's truth (validates the generator)
#
# Environment: FL_ROOT (repository root, default .), FL_FACELINE (the binary,
# default $FL_ROOT/build/faceline), FL_MODELS (passed on to faceline).
# Each clip X.mp4 gets X.truth.json next to it:
#   {"v":1, "width","height","fps","duration","frames",
#    "persons":[{"name","source","segments":[[start,end],...]}]  (end exclusive),
#    "empty":[[start,end]],            stretches with nobody on screen
#    "faces":[{"n","t","person","box":[x,y,w,h]}]}   every face at every frame
import json
import math
import os
import shutil
import subprocess
import sys
import time

ROOT = os.environ.get("FL_ROOT", ".")
FACELINE = os.environ.get("FL_FACELINE") or os.path.join(ROOT, "build", "faceline")
FPS = 25
BG = "0x4a5560"
BG_BLUR = 24
FF = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
X264 = ["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]


def die(msg):
    sys.stderr.write("make_clip.py: %s\n" % msg)
    sys.exit(2)


def detect(path):
    """Face boxes [x,y,w,h] of a photo by `faceline detect --json`."""
    env = dict(os.environ)
    env.setdefault("FL_MODELS", os.path.join(ROOT, "models"))
    for attempt in range(10):
        try:  # exec can fail for a moment while the binary is being rebuilt
            r = subprocess.run([FACELINE, "detect", path, "--json"], capture_output=True, text=True, env=env)
            break
        except OSError as e:
            if attempt == 9:
                die("%s: %s" % (FACELINE, e))
            time.sleep(1)
    if r.returncode != 0:
        die("faceline detect %s: exit %d: %s" % (path, r.returncode, r.stderr.strip()))
    return [f["box"] for f in json.loads(r.stdout)["faces"]]


def johns(person, name):
    return os.path.join(ROOT, "testdata", "dlib", "johns", person, name)


class Sprite:
    """One pasted picture: a source (optionally cropped) scaled to size w x h,
    shown on [t0, t1) at an even-rounded position that may depend on t."""

    def __init__(self, path, faces, t0, t1, w, h, x, y, crop=None):
        self.path, self.faces, self.t0, self.t1 = path, faces, t0, t1
        self.w, self.h, self.x, self.y, self.crop = w, h, x, y, crop

    def pos(self, t):
        # overlay truncates x/y to even for yuv420: the expression does the same
        return (2 * math.floor(self.x(t) / 2), 2 * math.floor(self.y(t) / 2))


def lin(a, v, t0):
    """a + v*(t-t0) as a Python function and its ffmpeg expression."""
    f = lambda t: a + v * (t - t0)
    f.expr = "2*floor((%g+%g*(t-%g))/2)" % (a, v, t0)
    return f


def const(a):
    f = lambda t: a
    f.expr = "2*floor(%g/2)" % a
    return f


def bg_input(W, H, bg, dur=None):
    """ffmpeg input arguments and filter chain (input 0 -> [bg]) of a
    background: the plain colour BG, or a photo scaled to the frame and blurred
    until none of its faces is a face any more (it gives the detector
    texture, edges and skin tones to be wrong about)."""
    if not bg:
        src = "color=c=%s:s=%dx%d:r=%d" % (BG, W, H, FPS) + (":d=%g" % dur if dur else "")
        return ["-f", "lavfi", "-i", src], "[0:v]null[bg]"
    loop = ["-loop", "1", "-framerate", str(FPS), "-t", "%g" % dur] if dur else []
    return loop + ["-i", bg], ("[0:v]scale=%d:%d,gblur=sigma=%g,eq=brightness=-0.06,setsar=1,format=yuv420p[bg]"
                              % (W, H, BG_BLUR))


def face_boxes(s, W, H, tmpdir, expect, bg):
    """The face boxes of sprite s, relative to its top-left corner, in pixels
    of the pasted (scaled) picture.  The detector sees the picture pasted on
    the clip's background at its own size (a photo that is all face gives a
    box shifted by ~15 px compared with the same face in a wider frame), so
    the truth is the detector's box in context.  `expect` faces exactly, left
    to right, or the generator stops."""
    px, py = s.pos(s.t0)
    ref = os.path.join(tmpdir, "ref.png")
    bgin, bgchain = bg_input(W, H, bg)
    chain = bgchain + ";[1:v]"
    if s.crop:
        chain += "crop=%d:%d:%d:%d," % tuple(s.crop[2:] + s.crop[:2])
    chain += "scale=%d:%d,setsar=1[s];[bg][s]overlay=%d:%d" % (s.w, s.h, px, py)
    r = subprocess.run(FF + bgin + ["-i", s.path, "-filter_complex", chain, "-frames:v", "1", ref],
                       capture_output=True, text=True)
    if r.returncode != 0:
        die("ffmpeg: %s" % r.stderr.strip())
    boxes = [[b[0] - px, b[1] - py, b[2], b[3]] for b in detect(ref)]
    os.unlink(ref)
    if len(boxes) != len(expect):
        die("%s: %d faces found, want %d" % (s.path, len(boxes), len(expect)))
    boxes.sort(key=lambda b: b[0])
    return list(zip(expect, boxes))


def photo_size(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream=width,height", "-of", "csv=p=0", path], capture_output=True, text=True)
    w, h = r.stdout.strip().split(",")[:2]
    return int(w), int(h)


def render(out, W, H, dur, sprites, persons, bg=None):
    """Encode the clip and write its truth."""
    for s in sprites:
        s.faces = face_boxes(s, W, H, os.path.dirname(out) or ".", s.faces, bg)
    bgin, bgchain = bg_input(W, H, bg, dur)
    args = FF + bgin
    graph = [bgchain]
    last = "bg"
    for i, s in enumerate(sprites):
        args += ["-loop", "1", "-framerate", str(FPS), "-t", "%g" % dur, "-i", s.path]
        chain = "[%d:v]" % (i + 1)
        if s.crop:
            chain += "crop=%d:%d:%d:%d," % tuple(s.crop[2:] + s.crop[:2])
        chain += "scale=%d:%d,setsar=1[s%d]" % (s.w, s.h, i)
        graph.append(chain)
        # half a frame early on both ends: frame n shows the sprite iff
        # t0 <= n/FPS < t1, whatever the rounding of t
        e = 0.5 / FPS
        graph.append("[%s][s%d]overlay=x='%s':y='%s':enable='between(t,%g,%g)':eof_action=pass[b%d]"
                     % (last, i, s.x.expr, s.y.expr, s.t0 - e, s.t1 - e, i + 1))
        last = "b%d" % (i + 1)
    args += ["-filter_complex", ";".join(graph), "-map", "[%s]" % last, "-t", "%g" % dur] + X264
    args += ["-f", "mp4", out]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        die("ffmpeg: %s" % r.stderr.strip())

    nframes = int(round(dur * FPS))
    faces = []
    for n in range(nframes):
        t = n / FPS
        for s in sprites:
            if not (s.t0 <= t + 1e-9 < s.t1):
                continue
            px, py = s.pos(t)
            for name, b in s.faces:
                box = [px + b[0], py + b[1], b[2], b[3]]
                # clip to the frame
                x0, y0 = max(0.0, box[0]), max(0.0, box[1])
                x1, y1 = min(W, box[0] + box[2]), min(H, box[1] + box[3])
                faces.append({"n": n, "t": round(t, 4), "person": name,
                              "box": [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)]})
    # segments from the frames each person is on screen
    segs = {}
    for p in persons:
        ns = sorted({f["n"] for f in faces if f["person"] == p["name"]})
        runs = []
        for n in ns:
            if runs and runs[-1][1] == n:
                runs[-1][1] = n + 1
            else:
                runs.append([n, n + 1])
        segs[p["name"]] = [[a / FPS, b / FPS] for a, b in runs]
    occupied = sorted({f["n"] for f in faces})
    empty, prev = [], 0
    for n in occupied + [nframes]:
        if n > prev:
            empty.append([prev / FPS, n / FPS])
        prev = n + 1
    truth = {"v": 1, "clip": os.path.basename(out), "width": W, "height": H, "fps": FPS,
             "duration": dur, "frames": nframes,
             "persons": [dict(p, segments=segs[p["name"]]) for p in persons],
             "empty": empty, "faces": faces}
    with open(os.path.splitext(out)[0] + ".truth.json", "w") as f:
        json.dump(truth, f, indent=0)


def sprite(path, names, t0, t1, w, x, y, crop=None):
    sw, sh = photo_size(path)
    if crop:
        sw, sh = crop[2], crop[3]
    h = int(round(w * sh / sw / 2)) * 2
    return Sprite(path, names, t0, t1, w, h, x, y, crop)


def clip1(outdir):
    A1 = johns("John_Simm", "000288_00470387.jpg")
    A2 = johns("John_Simm", "000304_00470122.jpg")
    B = johns("John_Salley", "000179_02159509.jpg")
    sp = [
        # A alone, drifting right and a little down
        sprite(A1, ["A"], 0, 4, 160, lin(80, 30, 0), lin(90, 8, 0)),
        # B alone, drifting left
        sprite(B, ["B"], 4, 8, 170, lin(400, -25, 4), const(100)),
        # both, side by side, A moving, B still
        sprite(A1, ["A"], 8, 11, 150, lin(60, 12, 8), const(110)),
        sprite(B, ["B"], 8, 11, 150, const(400), lin(100, -6, 8)),
    ]
    # A again from another photo, growing from 48 to 237 px in 0.5 s steps
    # (faces of ~40 to ~200 px)
    for k in range(8):
        w = 48 + 27 * k
        sp.append(sprite(A2, ["A"], 13 + 0.5 * k, 13.5 + 0.5 * k, w, const(300 - w / 2), const(180 - w / 2)))
    persons = [{"name": "A", "source": "John_Simm"}, {"name": "B", "source": "John_Salley"}]
    render(os.path.join(outdir, "clip1.mp4"), 640, 360, 17, sp, persons)


def clip2(outdir):
    C = johns("John_Savage", "000264_01099001.jpg")
    C2 = johns("John_Savage", "000277_01099000.jpg")
    D = johns("John_Schneider", "000288_00925786.jpg")
    E = johns("John_Shimkus", "000375_03227651.jpg")
    G = os.path.join(ROOT, "models", "samples", "sample3.jpg")
    sp = [
        sprite(C, ["C"], 0, 6, 150, lin(40, 10, 0), const(80)),
        sprite(D, ["D"], 2, 9, 140, const(330), lin(60, 10, 2)),
        sprite(E, ["E"], 5, 10, 130, lin(640, -20, 5), const(250)),
        # a crop of face-api's sample3 with its two right-hand faces
        sprite(G, ["G1", "G2"], 11, 15, 380, lin(100, 15, 11), const(80), crop=[1000, 180, 760, 460]),
        # C again from another photo, small (a ~47 px face) and moving
        sprite(C2, ["C"], 15, 18, 56, lin(600, -40, 15), lin(300, -20, 15)),
    ]
    persons = [{"name": n, "source": s} for n, s in
               [("C", "John_Savage"), ("D", "John_Schneider"), ("E", "John_Shimkus"),
                ("G1", "sample3"), ("G2", "sample3")]]
    # on a blurred group photo: texture but no face
    render(os.path.join(outdir, "clip2.mp4"), 854, 480, 18, sp, persons,
           bg=os.path.join(ROOT, "models", "samples", "sample1.jpg"))


def find_box(b, typ):
    """Offset and size of the first top-level MP4 box of type typ."""
    off = 0
    while off + 8 <= len(b):
        sz = int.from_bytes(b[off:off + 4], "big")
        if b[off + 4:off + 8] == typ:
            return off, sz
        if sz == 1:
            sz = int.from_bytes(b[off + 8:off + 16], "big")
        if sz < 8:
            return -1, 0
        off += sz
    return -1, 0


def make_bad(outdir):
    """The bad inputs, with the exit code `faceline analyze` must give in
    bad.json: {"file": code}.  "corrupt_middle.mp4" and "cut_mid_data.mp4"
    are analysed anyway (0); "spaced" is a good clip at an awkward path."""
    def ff(args, out):
        r = subprocess.run(FF + args + [out], capture_output=True, text=True)
        if r.returncode != 0:
            die("ffmpeg %s: %s" % (out, r.stderr.strip()))

    p = lambda n: os.path.join(outdir, n)
    src = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "4"] + X264
    ff(src + ["-f", "mp4"], p("good.mp4"))                       # moov at the end
    ff(src + ["-movflags", "+faststart", "-f", "mp4"], p("fs.mp4"))  # moov first
    good = open(p("good.mp4"), "rb").read()
    fs = open(p("fs.mp4"), "rb").read()
    open(p("empty.mp4"), "wb").close()
    with open(p("text.mp4"), "w") as f:
        f.write("This is not a video.\nJust some text in a file named .mp4\n")
    with open(p("cut_before_index.mp4"), "wb") as f:
        f.write(good[:len(good) // 2])
    with open(p("cut_mid_data.mp4"), "wb") as f:
        f.write(fs[:len(fs) * 6 // 10])
    # 4 KiB of noise in the middle of the frame data
    off, sz = find_box(good, b"mdat")
    if off < 0 or sz < 20000:
        die("good.mp4: no mdat")
    b = bytearray(good)
    at = off + sz // 2
    x = 0x5eed
    for i in range(4096):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        b[at + i] = x >> 16 & 0xff
    with open(p("corrupt_middle.mp4"), "wb") as f:
        f.write(b)
    ff(["-f", "lavfi", "-i", "sine=frequency=440", "-t", "2", "-c:a", "aac", "-f", "mp4"], p("audio_only.m4a"))
    ff(["-f", "lavfi", "-i", "testsrc2=size=16x16:rate=25", "-t", "1"] + X264 + ["-f", "mp4"], p("tiny.mp4"))
    # absurd: 9000x16 (libx264 takes it; MJPEG in Matroska as a fallback)
    r = subprocess.run(FF + ["-f", "lavfi", "-i", "color=c=gray:size=9000x16:rate=25", "-t", "0.2"] + X264
                       + ["-f", "mp4", p("absurd.mp4")], capture_output=True, text=True)
    absurd = "absurd.mp4"
    if r.returncode != 0:
        absurd = "absurd.mkv"
        ff(["-f", "lavfi", "-i", "color=c=gray:size=9000x16:rate=25", "-t", "0.2", "-c:v", "mjpeg",
            "-pix_fmt", "yuvj420p", "-f", "matroska"], p(absurd))
    sub = p("a dir with spaces")
    os.makedirs(sub, exist_ok=True)
    spaced = os.path.join("a dir with spaces", "visage été 顔 #1.mp4")
    shutil.copy(p("good.mp4"), p(spaced))
    codes = {"missing.mp4": 3, "empty.mp4": 2, "text.mp4": 2, "cut_before_index.mp4": 2,
             "audio_only.m4a": 2, "tiny.mp4": 2, absurd: 2, "corrupt_middle.mp4": 0,
             "cut_mid_data.mp4": 0, spaced: 0}
    with open(p("bad.json"), "w") as f:
        json.dump(codes, f, indent=1, ensure_ascii=False)


def iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    i = ix * iy
    u = a[2] * a[3] + b[2] * b[3] - i
    return i / u if u > 0 else 0.0


def check(clip, step):
    """Run `faceline detect` on every step-th frame of clip and compare with
    the truth: print per-frame misses and extras, return the recall."""
    truth = json.load(open(os.path.splitext(clip)[0] + ".truth.json"))
    tmp = clip + ".frames"
    os.makedirs(tmp, exist_ok=True)
    r = subprocess.run(FF + ["-i", clip, "-vf", "select='not(mod(n\\,%d))'" % step, "-fps_mode", "passthrough",
                             os.path.join(tmp, "f%05d.png")], capture_output=True, text=True)
    if r.returncode != 0:
        die("ffmpeg: %s" % r.stderr)
    hit = total = extra = 0
    ious = []
    for k, n in enumerate(range(0, truth["frames"], step)):
        dets = detect(os.path.join(tmp, "f%05d.png" % (k + 1)))
        want = [f for f in truth["faces"] if f["n"] == n]
        used = set()
        for f in want:
            total += 1
            best, bi = 0.0, -1
            for i, d in enumerate(dets):
                v = iou(f["box"], d)
                if v > best and i not in used:
                    best, bi = v, i
            if best >= 0.5:
                hit += 1
                ious.append(best)
                used.add(bi)
            else:
                print("frame %d t=%.2f: %s %s missed (best IoU %.2f)" % (n, n / FPS, f["person"], f["box"], best))
        for i, d in enumerate(dets):
            if i not in used:
                extra += 1
                print("frame %d t=%.2f: extra box %s" % (n, n / FPS, [round(v) for v in d]))
    shutil.rmtree(tmp)
    print("%s: %d/%d true boxes found by detect (recall %.3f, IoU mean %.3f min %.3f), %d extra" %
          (os.path.basename(clip), hit, total, hit / max(total, 1), sum(ious) / max(len(ious), 1),
           min(ious or [0]), extra))
    return hit, total, extra


def main():
    if len(sys.argv) < 3:
        die("usage: make_clip.py clip1|clip2|bad OUTDIR | check CLIP [STEP]")
    what, arg = sys.argv[1], sys.argv[2]
    if what == "check":
        hit, total, extra = check(arg, int(sys.argv[3]) if len(sys.argv) > 3 else 5)
        sys.exit(0 if total and hit >= 0.95 * total and extra == 0 else 1)
    os.makedirs(arg, exist_ok=True)
    {"clip1": clip1, "clip2": clip2, "bad": make_bad}.get(what, lambda d: die("unknown " + what))(arg)


if __name__ == "__main__":
    main()

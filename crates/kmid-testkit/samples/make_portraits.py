#!/usr/bin/env python3
"""Makes the synthetic sample portraits (no real person) used by kmid-schema's samples.

Each is a 300x400 baseline JPEG, about 20 KB, the size of a real ID portrait. Deterministic:
the noise is seeded. Needs Pillow (pip install pillow). Run from this folder:
    python3 make_portraits.py
"""
import random
from PIL import Image, ImageDraw

PEOPLE = {
    "portrait-resident.jpg": ((222, 229, 236), (235, 200, 170), (40, 30, 25), 1),
    "portrait-resident-minor.jpg": ((230, 236, 226), (238, 206, 180), (30, 25, 20), 2),
    "portrait-foreigner.jpg": ((226, 226, 238), (196, 150, 115), (20, 15, 10), 3),
    "portrait-permanent-resident.jpg": ((238, 230, 222), (240, 210, 190), (150, 110, 60), 4),
    "portrait-overseas-national.jpg": ((224, 234, 240), (232, 196, 168), (35, 28, 22), 5),
}

for name, (bg, skin, hair, seed) in PEOPLE.items():
    rnd = random.Random(seed)
    img = Image.new("RGB", (300, 400), bg)
    d = ImageDraw.Draw(img)
    d.ellipse((60, 300, 240, 520), fill=(60, 70, 90))        # shoulders
    d.rectangle((125, 250, 175, 320), fill=skin)             # neck
    d.ellipse((80, 60, 220, 270), fill=hair)                 # hair
    d.ellipse((90, 90, 210, 280), fill=skin)                 # face
    d.ellipse((118, 160, 138, 172), fill=(40, 40, 40))       # eyes
    d.ellipse((162, 160, 182, 172), fill=(40, 40, 40))
    d.line((150, 175, 145, 215), fill=(180, 140, 120), width=3)
    d.arc((125, 215, 175, 245), 20, 160, fill=(150, 60, 60), width=3)
    px = img.load()
    for y in range(400):
        for x in range(300):
            r, g, b = px[x, y]
            n = rnd.randint(-9, 9)
            px[x, y] = (max(0, min(255, r + n)), max(0, min(255, g + n)), max(0, min(255, b + n)))
    img.save(name, "JPEG", quality=82, optimize=True)

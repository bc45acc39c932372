#!/usr/bin/env python3
"""Render a terminal capture (tmux capture-pane -e -p -N) to a PNG.

pyte replays the ANSI text on a virtual screen; Pillow draws each cell with DejaVu Sans Mono
(Debian: fonts-dejavu-core). Handles colours, bold, dim, reverse video and box drawing.

Usage: ansi_to_png.py CAPTURE.ans OUT.png [--cols 120] [--rows 40] [--title TEXT]
"""
import argparse

import pyte
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
PALETTE = {
    "black": "#1d1f21", "red": "#e0575b", "green": "#8fc56e", "brown": "#e6c15a", "yellow": "#e6c15a",
    "blue": "#6a9fe0", "magenta": "#c594d9", "cyan": "#5fc4c9", "white": "#d8dadc",
    "brightblack": "#6b7078", "brightred": "#ff7b7f", "brightgreen": "#a8e08a", "brightbrown": "#ffe08a",
    "brightyellow": "#ffe08a", "brightblue": "#8fbaff", "brightmagenta": "#e0b0f5", "brightcyan": "#8ae8ec",
    "brightwhite": "#ffffff",
}
DEFAULT_FG = "#d8dadc"
DEFAULT_BG = "#16181c"
DIM_FG = "#7d828a"


class DimScreen(pyte.Screen):
    """pyte ignores SGR 2 (dim); remember it and apply it to the cells drawn meanwhile."""

    dim = False

    def select_graphic_rendition(self, *attrs, **kwargs):
        for attr in attrs:
            if attr in (0, 22):
                self.dim = False
            elif attr == 2:
                self.dim = True
        if not attrs:
            self.dim = False
        super().select_graphic_rendition(*attrs, **kwargs)

    def draw(self, data):
        y, x0 = self.cursor.y, self.cursor.x
        super().draw(data)
        if self.dim and self.cursor.y == y:
            line = self.buffer[y]
            for x in range(x0, self.cursor.x):
                char = line[x]
                if char.fg == "default":
                    line[x] = char._replace(fg="dim")


def color(name, default):
    if name == "default":
        return default
    if name == "dim":
        return DIM_FG
    if name in PALETTE:
        return PALETTE[name]
    if len(name) == 6:
        return "#" + name
    return default


def render(text, cols, rows, out, title=None):
    screen = DimScreen(cols, rows)
    stream = pyte.Stream(screen)
    lines = text.rstrip("\n").split("\n")[:rows]
    stream.feed("\r\n".join(lines))
    size = 16
    font = ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", size)
    bold = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", size)
    cell_w = round(font.getlength("M"))
    ascent, descent = font.getmetrics()
    cell_h = ascent + descent + 2
    pad = 14
    bar = 30 if title is not None else 0
    img = Image.new("RGB", (cols * cell_w + 2 * pad, rows * cell_h + 2 * pad + bar), DEFAULT_BG)
    draw = ImageDraw.Draw(img)
    if title is not None:
        draw.rectangle([0, 0, img.width, bar], fill="#2a2d33")
        for i, dot in enumerate(("#ff5f56", "#ffbd2e", "#27c93f")):
            draw.ellipse([12 + i * 20, 9, 24 + i * 20, 21], fill=dot)
        draw.text((img.width // 2, bar // 2), title, font=font, fill="#aab0b8", anchor="mm")
    for y in range(rows):
        line = screen.buffer[y]
        for x in range(cols):
            char = line[x]
            fg = color(char.fg, DEFAULT_FG)
            bg = color(char.bg, DEFAULT_BG)
            if char.reverse:
                fg, bg = (bg if char.bg != "default" else DEFAULT_BG), (fg if char.fg not in ("default",) else DEFAULT_FG)
            px, py = pad + x * cell_w, pad + bar + y * cell_h
            if bg != DEFAULT_BG:
                draw.rectangle([px, py, px + cell_w - 1, py + cell_h - 1], fill=bg)
            if char.data and char.data != " ":
                f = bold if char.bold else font
                # Box drawing: stretch vertical strokes over the whole cell so lines join.
                if char.data in "│┌┐└┘├┤":
                    mid_x = px + cell_w // 2
                    if char.data == "│":
                        draw.line([mid_x, py, mid_x, py + cell_h], fill=fg, width=1)
                        continue
                    if char.data in "┌┐":
                        draw.line([mid_x, py + cell_h // 2, mid_x, py + cell_h], fill=fg, width=1)
                    if char.data in "└┘":
                        draw.line([mid_x, py, mid_x, py + cell_h // 2], fill=fg, width=1)
                    x0 = px if char.data in "┐┘" else mid_x
                    x1 = px + cell_w if char.data in "┌└" else mid_x
                    draw.line([x0, py + cell_h // 2, x1, py + cell_h // 2], fill=fg, width=1)
                    continue
                if char.data == "─":
                    draw.line([px, py + cell_h // 2, px + cell_w, py + cell_h // 2], fill=fg, width=1)
                    continue
                draw.text((px, py + 1), char.data, font=f, fill=fg)
            if char.underscore:
                draw.line([px, py + cell_h - 2, px + cell_w - 1, py + cell_h - 2], fill=fg)
    img.save(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture")
    parser.add_argument("out")
    parser.add_argument("--cols", type=int, default=120)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--title")
    args = parser.parse_args()
    with open(args.capture, encoding="utf-8", errors="replace") as f:
        render(f.read(), args.cols, args.rows, args.out, args.title)


if __name__ == "__main__":
    main()

#ifndef FLEET_CNCURSESW_SHIM_H
#define FLEET_CNCURSESW_SHIM_H
// The wide-character API is hidden unless this is defined before the include.
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <ncurses.h>
#include <stdlib.h>
#include <wchar.h>

// Swift cannot import function-like macros or C globals under strict concurrency, so the
// console reads them through these helpers.
static inline int fleet_lines(void) { return LINES; }
static inline int fleet_cols(void) { return COLS; }
static inline WINDOW *fleet_stdscr(void) { return stdscr; }

static inline int fleet_attr_bold(void) { return (int)A_BOLD; }
static inline int fleet_attr_reverse(void) { return (int)A_REVERSE; }
static inline int fleet_attr_underline(void) { return (int)A_UNDERLINE; }
static inline int fleet_attr_dim(void) { return (int)A_DIM; }
static inline int fleet_color_pair(int n) { return (int)COLOR_PAIR(n); }

static inline int fleet_key_code_yes(void) { return KEY_CODE_YES; }
static inline int fleet_key_resize(void) { return KEY_RESIZE; }
static inline int fleet_key_up(void) { return KEY_UP; }
static inline int fleet_key_down(void) { return KEY_DOWN; }
static inline int fleet_key_left(void) { return KEY_LEFT; }
static inline int fleet_key_right(void) { return KEY_RIGHT; }
static inline int fleet_key_npage(void) { return KEY_NPAGE; }
static inline int fleet_key_ppage(void) { return KEY_PPAGE; }
static inline int fleet_key_home(void) { return KEY_HOME; }
static inline int fleet_key_end(void) { return KEY_END; }
static inline int fleet_key_backspace(void) { return KEY_BACKSPACE; }
static inline int fleet_key_dc(void) { return KEY_DC; }
static inline int fleet_key_enter(void) { return KEY_ENTER; }
static inline int fleet_key_btab(void) { return KEY_BTAB; }

// Reads one key as a wide character; returns OK, KEY_CODE_YES or ERR like wget_wch.
static inline int fleet_get_wch(int *out) {
    wint_t ch = 0;
    int rc = wget_wch(stdscr, &ch);
    *out = (int)ch;
    return rc;
}

// Writes UTF-8 text at (y, x) with the given attributes (a colour pair included).
static inline void fleet_put(int y, int x, const char *utf8, int attrs) {
    attrset((attr_t)attrs);
    mvaddstr(y, x, utf8);
    attrset(A_NORMAL);
}
#endif

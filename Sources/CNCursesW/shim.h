#ifndef FLEET_CNCURSESW_SHIM_H
#define FLEET_CNCURSESW_SHIM_H
// The wide-character API is hidden unless this is defined before the include.
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <ncurses.h>
#endif

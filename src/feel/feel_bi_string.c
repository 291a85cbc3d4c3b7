/*
 * String built-in functions: DMN 1.5 §10.3.4.3 (substring, string length,
 * upper case, lower case, substring before/after, replace, contains, starts
 * with, ends with, matches, split, string join) and Camunda 8's additions
 * (extract, trim, is blank, uuid, to base64, string join's prefix/suffix).
 *
 * Positions and lengths count Unicode code points, never bytes or UTF-16
 * units, so "\U01F40E" has length 1 as the TCK wants.
 *
 * Regular expressions are XML Schema / XPath 3.1 expressions (F&O §5.6). A
 * pattern is translated here into PCRE2 syntax: XSD constructs PCRE2 lacks
 * (class subtraction, \i \c, Is-block names) or spells differently (\s, \w,
 * `.`) keep their XSD meaning, and PCRE2 syntax that XSD does not have is
 * refused instead of silently meaning something. Matching runs under match,
 * depth and heap limits so that a catastrophic pattern ends with null and a
 * warning instead of hanging the engine; PCRE2 allocates through cf_malloc,
 * so out-of-memory tests reach it too.
 */
#define _GNU_SOURCE /* memmem */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/cf_alloc.h"
#include "feel/feel_int.h"

/* ------------------------------------------------------- Unicode tables */

/*
 * Case mappings, generated from Unicode 14 (Python's str.upper/str.lower, one
 * code point at a time). A run maps lo, lo+step, ... hi to cp + delta; the
 * runs are sorted and disjoint. The *_multi tables hold the full mappings
 * that give several code points (ß -> SS), as Java's toUpperCase does.
 */
struct case_run {
  uint32_t lo, hi;
  int32_t delta;
  uint8_t step;
};
struct case_multi {
  uint32_t cp;
  uint32_t to[3]; /* zero-terminated when shorter */
};

static const struct case_run upper_runs[] = {
    {0x61, 0x7A, -32, 1}, {0xB5, 0xB5, 743, 1}, {0xE0, 0xF6, -32, 1}, {0xF8, 0xFE, -32, 1},
    {0xFF, 0xFF, 121, 1}, {0x101, 0x12F, -1, 2}, {0x131, 0x131, -232, 1}, {0x133, 0x137, -1, 2},
    {0x13A, 0x148, -1, 2}, {0x14B, 0x177, -1, 2}, {0x17A, 0x17E, -1, 2}, {0x17F, 0x17F, -300, 1},
    {0x180, 0x180, 195, 1}, {0x183, 0x185, -1, 2}, {0x188, 0x188, -1, 1}, {0x18C, 0x18C, -1, 1},
    {0x192, 0x192, -1, 1}, {0x195, 0x195, 97, 1}, {0x199, 0x199, -1, 1}, {0x19A, 0x19A, 163, 1},
    {0x19E, 0x19E, 130, 1}, {0x1A1, 0x1A5, -1, 2}, {0x1A8, 0x1A8, -1, 1}, {0x1AD, 0x1AD, -1, 1},
    {0x1B0, 0x1B0, -1, 1}, {0x1B4, 0x1B6, -1, 2}, {0x1B9, 0x1B9, -1, 1}, {0x1BD, 0x1BD, -1, 1},
    {0x1BF, 0x1BF, 56, 1}, {0x1C5, 0x1C5, -1, 1}, {0x1C6, 0x1C6, -2, 1}, {0x1C8, 0x1C8, -1, 1},
    {0x1C9, 0x1C9, -2, 1}, {0x1CB, 0x1CB, -1, 1}, {0x1CC, 0x1CC, -2, 1}, {0x1CE, 0x1DC, -1, 2},
    {0x1DD, 0x1DD, -79, 1}, {0x1DF, 0x1EF, -1, 2}, {0x1F2, 0x1F2, -1, 1}, {0x1F3, 0x1F3, -2, 1},
    {0x1F5, 0x1F5, -1, 1}, {0x1F9, 0x21F, -1, 2}, {0x223, 0x233, -1, 2}, {0x23C, 0x23C, -1, 1},
    {0x23F, 0x240, 10815, 1}, {0x242, 0x242, -1, 1}, {0x247, 0x24F, -1, 2},
    {0x250, 0x250, 10783, 1}, {0x251, 0x251, 10780, 1}, {0x252, 0x252, 10782, 1},
    {0x253, 0x253, -210, 1}, {0x254, 0x254, -206, 1}, {0x256, 0x257, -205, 1},
    {0x259, 0x259, -202, 1}, {0x25B, 0x25B, -203, 1}, {0x25C, 0x25C, 42319, 1},
    {0x260, 0x260, -205, 1}, {0x261, 0x261, 42315, 1}, {0x263, 0x263, -207, 1},
    {0x265, 0x265, 42280, 1}, {0x266, 0x266, 42308, 1}, {0x268, 0x268, -209, 1},
    {0x269, 0x269, -211, 1}, {0x26A, 0x26A, 42308, 1}, {0x26B, 0x26B, 10743, 1},
    {0x26C, 0x26C, 42305, 1}, {0x26F, 0x26F, -211, 1}, {0x271, 0x271, 10749, 1},
    {0x272, 0x272, -213, 1}, {0x275, 0x275, -214, 1}, {0x27D, 0x27D, 10727, 1},
    {0x280, 0x280, -218, 1}, {0x282, 0x282, 42307, 1}, {0x283, 0x283, -218, 1},
    {0x287, 0x287, 42282, 1}, {0x288, 0x288, -218, 1}, {0x289, 0x289, -69, 1},
    {0x28A, 0x28B, -217, 1}, {0x28C, 0x28C, -71, 1}, {0x292, 0x292, -219, 1},
    {0x29D, 0x29D, 42261, 1}, {0x29E, 0x29E, 42258, 1}, {0x345, 0x345, 84, 1},
    {0x371, 0x373, -1, 2}, {0x377, 0x377, -1, 1}, {0x37B, 0x37D, 130, 1}, {0x3AC, 0x3AC, -38, 1},
    {0x3AD, 0x3AF, -37, 1}, {0x3B1, 0x3C1, -32, 1}, {0x3C2, 0x3C2, -31, 1}, {0x3C3, 0x3CB, -32, 1},
    {0x3CC, 0x3CC, -64, 1}, {0x3CD, 0x3CE, -63, 1}, {0x3D0, 0x3D0, -62, 1}, {0x3D1, 0x3D1, -57, 1},
    {0x3D5, 0x3D5, -47, 1}, {0x3D6, 0x3D6, -54, 1}, {0x3D7, 0x3D7, -8, 1}, {0x3D9, 0x3EF, -1, 2},
    {0x3F0, 0x3F0, -86, 1}, {0x3F1, 0x3F1, -80, 1}, {0x3F2, 0x3F2, 7, 1}, {0x3F3, 0x3F3, -116, 1},
    {0x3F5, 0x3F5, -96, 1}, {0x3F8, 0x3F8, -1, 1}, {0x3FB, 0x3FB, -1, 1}, {0x430, 0x44F, -32, 1},
    {0x450, 0x45F, -80, 1}, {0x461, 0x481, -1, 2}, {0x48B, 0x4BF, -1, 2}, {0x4C2, 0x4CE, -1, 2},
    {0x4CF, 0x4CF, -15, 1}, {0x4D1, 0x52F, -1, 2}, {0x561, 0x586, -48, 1},
    {0x10D0, 0x10FA, 3008, 1}, {0x10FD, 0x10FF, 3008, 1}, {0x13F8, 0x13FD, -8, 1},
    {0x1C80, 0x1C80, -6254, 1}, {0x1C81, 0x1C81, -6253, 1}, {0x1C82, 0x1C82, -6244, 1},
    {0x1C83, 0x1C84, -6242, 1}, {0x1C85, 0x1C85, -6243, 1}, {0x1C86, 0x1C86, -6236, 1},
    {0x1C87, 0x1C87, -6181, 1}, {0x1C88, 0x1C88, 35266, 1}, {0x1D79, 0x1D79, 35332, 1},
    {0x1D7D, 0x1D7D, 3814, 1}, {0x1D8E, 0x1D8E, 35384, 1}, {0x1E01, 0x1E95, -1, 2},
    {0x1E9B, 0x1E9B, -59, 1}, {0x1EA1, 0x1EFF, -1, 2}, {0x1F00, 0x1F07, 8, 1},
    {0x1F10, 0x1F15, 8, 1}, {0x1F20, 0x1F27, 8, 1}, {0x1F30, 0x1F37, 8, 1}, {0x1F40, 0x1F45, 8, 1},
    {0x1F51, 0x1F57, 8, 2}, {0x1F60, 0x1F67, 8, 1}, {0x1F70, 0x1F71, 74, 1},
    {0x1F72, 0x1F75, 86, 1}, {0x1F76, 0x1F77, 100, 1}, {0x1F78, 0x1F79, 128, 1},
    {0x1F7A, 0x1F7B, 112, 1}, {0x1F7C, 0x1F7D, 126, 1}, {0x1FB0, 0x1FB1, 8, 1},
    {0x1FBE, 0x1FBE, -7205, 1}, {0x1FD0, 0x1FD1, 8, 1}, {0x1FE0, 0x1FE1, 8, 1},
    {0x1FE5, 0x1FE5, 7, 1}, {0x214E, 0x214E, -28, 1}, {0x2170, 0x217F, -16, 1},
    {0x2184, 0x2184, -1, 1}, {0x24D0, 0x24E9, -26, 1}, {0x2C30, 0x2C5F, -48, 1},
    {0x2C61, 0x2C61, -1, 1}, {0x2C65, 0x2C65, -10795, 1}, {0x2C66, 0x2C66, -10792, 1},
    {0x2C68, 0x2C6C, -1, 2}, {0x2C73, 0x2C73, -1, 1}, {0x2C76, 0x2C76, -1, 1},
    {0x2C81, 0x2CE3, -1, 2}, {0x2CEC, 0x2CEE, -1, 2}, {0x2CF3, 0x2CF3, -1, 1},
    {0x2D00, 0x2D25, -7264, 1}, {0x2D27, 0x2D27, -7264, 1}, {0x2D2D, 0x2D2D, -7264, 1},
    {0xA641, 0xA66D, -1, 2}, {0xA681, 0xA69B, -1, 2}, {0xA723, 0xA72F, -1, 2},
    {0xA733, 0xA76F, -1, 2}, {0xA77A, 0xA77C, -1, 2}, {0xA77F, 0xA787, -1, 2},
    {0xA78C, 0xA78C, -1, 1}, {0xA791, 0xA793, -1, 2}, {0xA794, 0xA794, 48, 1},
    {0xA797, 0xA7A9, -1, 2}, {0xA7B5, 0xA7C3, -1, 2}, {0xA7C8, 0xA7CA, -1, 2},
    {0xA7D1, 0xA7D1, -1, 1}, {0xA7D7, 0xA7D9, -1, 2}, {0xA7F6, 0xA7F6, -1, 1},
    {0xAB53, 0xAB53, -928, 1}, {0xAB70, 0xABBF, -38864, 1}, {0xFF41, 0xFF5A, -32, 1},
    {0x10428, 0x1044F, -40, 1}, {0x104D8, 0x104FB, -40, 1}, {0x10597, 0x105A1, -39, 1},
    {0x105A3, 0x105B1, -39, 1}, {0x105B3, 0x105B9, -39, 1}, {0x105BB, 0x105BC, -39, 1},
    {0x10CC0, 0x10CF2, -64, 1}, {0x118C0, 0x118DF, -32, 1}, {0x16E60, 0x16E7F, -32, 1},
    {0x1E922, 0x1E943, -34, 1},
};
static const struct case_run lower_runs[] = {
    {0x41, 0x5A, 32, 1}, {0xC0, 0xD6, 32, 1}, {0xD8, 0xDE, 32, 1}, {0x100, 0x12E, 1, 2},
    {0x132, 0x136, 1, 2}, {0x139, 0x147, 1, 2}, {0x14A, 0x176, 1, 2}, {0x178, 0x178, -121, 1},
    {0x179, 0x17D, 1, 2}, {0x181, 0x181, 210, 1}, {0x182, 0x184, 1, 2}, {0x186, 0x186, 206, 1},
    {0x187, 0x187, 1, 1}, {0x189, 0x18A, 205, 1}, {0x18B, 0x18B, 1, 1}, {0x18E, 0x18E, 79, 1},
    {0x18F, 0x18F, 202, 1}, {0x190, 0x190, 203, 1}, {0x191, 0x191, 1, 1}, {0x193, 0x193, 205, 1},
    {0x194, 0x194, 207, 1}, {0x196, 0x196, 211, 1}, {0x197, 0x197, 209, 1}, {0x198, 0x198, 1, 1},
    {0x19C, 0x19C, 211, 1}, {0x19D, 0x19D, 213, 1}, {0x19F, 0x19F, 214, 1}, {0x1A0, 0x1A4, 1, 2},
    {0x1A6, 0x1A6, 218, 1}, {0x1A7, 0x1A7, 1, 1}, {0x1A9, 0x1A9, 218, 1}, {0x1AC, 0x1AC, 1, 1},
    {0x1AE, 0x1AE, 218, 1}, {0x1AF, 0x1AF, 1, 1}, {0x1B1, 0x1B2, 217, 1}, {0x1B3, 0x1B5, 1, 2},
    {0x1B7, 0x1B7, 219, 1}, {0x1B8, 0x1B8, 1, 1}, {0x1BC, 0x1BC, 1, 1}, {0x1C4, 0x1C4, 2, 1},
    {0x1C5, 0x1C5, 1, 1}, {0x1C7, 0x1C7, 2, 1}, {0x1C8, 0x1C8, 1, 1}, {0x1CA, 0x1CA, 2, 1},
    {0x1CB, 0x1DB, 1, 2}, {0x1DE, 0x1EE, 1, 2}, {0x1F1, 0x1F1, 2, 1}, {0x1F2, 0x1F4, 1, 2},
    {0x1F6, 0x1F6, -97, 1}, {0x1F7, 0x1F7, -56, 1}, {0x1F8, 0x21E, 1, 2}, {0x220, 0x220, -130, 1},
    {0x222, 0x232, 1, 2}, {0x23A, 0x23A, 10795, 1}, {0x23B, 0x23B, 1, 1}, {0x23D, 0x23D, -163, 1},
    {0x23E, 0x23E, 10792, 1}, {0x241, 0x241, 1, 1}, {0x243, 0x243, -195, 1}, {0x244, 0x244, 69, 1},
    {0x245, 0x245, 71, 1}, {0x246, 0x24E, 1, 2}, {0x370, 0x372, 1, 2}, {0x376, 0x376, 1, 1},
    {0x37F, 0x37F, 116, 1}, {0x386, 0x386, 38, 1}, {0x388, 0x38A, 37, 1}, {0x38C, 0x38C, 64, 1},
    {0x38E, 0x38F, 63, 1}, {0x391, 0x3A1, 32, 1}, {0x3A3, 0x3AB, 32, 1}, {0x3CF, 0x3CF, 8, 1},
    {0x3D8, 0x3EE, 1, 2}, {0x3F4, 0x3F4, -60, 1}, {0x3F7, 0x3F7, 1, 1}, {0x3F9, 0x3F9, -7, 1},
    {0x3FA, 0x3FA, 1, 1}, {0x3FD, 0x3FF, -130, 1}, {0x400, 0x40F, 80, 1}, {0x410, 0x42F, 32, 1},
    {0x460, 0x480, 1, 2}, {0x48A, 0x4BE, 1, 2}, {0x4C0, 0x4C0, 15, 1}, {0x4C1, 0x4CD, 1, 2},
    {0x4D0, 0x52E, 1, 2}, {0x531, 0x556, 48, 1}, {0x10A0, 0x10C5, 7264, 1},
    {0x10C7, 0x10C7, 7264, 1}, {0x10CD, 0x10CD, 7264, 1}, {0x13A0, 0x13EF, 38864, 1},
    {0x13F0, 0x13F5, 8, 1}, {0x1C90, 0x1CBA, -3008, 1}, {0x1CBD, 0x1CBF, -3008, 1},
    {0x1E00, 0x1E94, 1, 2}, {0x1E9E, 0x1E9E, -7615, 1}, {0x1EA0, 0x1EFE, 1, 2},
    {0x1F08, 0x1F0F, -8, 1}, {0x1F18, 0x1F1D, -8, 1}, {0x1F28, 0x1F2F, -8, 1},
    {0x1F38, 0x1F3F, -8, 1}, {0x1F48, 0x1F4D, -8, 1}, {0x1F59, 0x1F5F, -8, 2},
    {0x1F68, 0x1F6F, -8, 1}, {0x1F88, 0x1F8F, -8, 1}, {0x1F98, 0x1F9F, -8, 1},
    {0x1FA8, 0x1FAF, -8, 1}, {0x1FB8, 0x1FB9, -8, 1}, {0x1FBA, 0x1FBB, -74, 1},
    {0x1FBC, 0x1FBC, -9, 1}, {0x1FC8, 0x1FCB, -86, 1}, {0x1FCC, 0x1FCC, -9, 1},
    {0x1FD8, 0x1FD9, -8, 1}, {0x1FDA, 0x1FDB, -100, 1}, {0x1FE8, 0x1FE9, -8, 1},
    {0x1FEA, 0x1FEB, -112, 1}, {0x1FEC, 0x1FEC, -7, 1}, {0x1FF8, 0x1FF9, -128, 1},
    {0x1FFA, 0x1FFB, -126, 1}, {0x1FFC, 0x1FFC, -9, 1}, {0x2126, 0x2126, -7517, 1},
    {0x212A, 0x212A, -8383, 1}, {0x212B, 0x212B, -8262, 1}, {0x2132, 0x2132, 28, 1},
    {0x2160, 0x216F, 16, 1}, {0x2183, 0x2183, 1, 1}, {0x24B6, 0x24CF, 26, 1},
    {0x2C00, 0x2C2F, 48, 1}, {0x2C60, 0x2C60, 1, 1}, {0x2C62, 0x2C62, -10743, 1},
    {0x2C63, 0x2C63, -3814, 1}, {0x2C64, 0x2C64, -10727, 1}, {0x2C67, 0x2C6B, 1, 2},
    {0x2C6D, 0x2C6D, -10780, 1}, {0x2C6E, 0x2C6E, -10749, 1}, {0x2C6F, 0x2C6F, -10783, 1},
    {0x2C70, 0x2C70, -10782, 1}, {0x2C72, 0x2C72, 1, 1}, {0x2C75, 0x2C75, 1, 1},
    {0x2C7E, 0x2C7F, -10815, 1}, {0x2C80, 0x2CE2, 1, 2}, {0x2CEB, 0x2CED, 1, 2},
    {0x2CF2, 0x2CF2, 1, 1}, {0xA640, 0xA66C, 1, 2}, {0xA680, 0xA69A, 1, 2}, {0xA722, 0xA72E, 1, 2},
    {0xA732, 0xA76E, 1, 2}, {0xA779, 0xA77B, 1, 2}, {0xA77D, 0xA77D, -35332, 1},
    {0xA77E, 0xA786, 1, 2}, {0xA78B, 0xA78B, 1, 1}, {0xA78D, 0xA78D, -42280, 1},
    {0xA790, 0xA792, 1, 2}, {0xA796, 0xA7A8, 1, 2}, {0xA7AA, 0xA7AA, -42308, 1},
    {0xA7AB, 0xA7AB, -42319, 1}, {0xA7AC, 0xA7AC, -42315, 1}, {0xA7AD, 0xA7AD, -42305, 1},
    {0xA7AE, 0xA7AE, -42308, 1}, {0xA7B0, 0xA7B0, -42258, 1}, {0xA7B1, 0xA7B1, -42282, 1},
    {0xA7B2, 0xA7B2, -42261, 1}, {0xA7B3, 0xA7B3, 928, 1}, {0xA7B4, 0xA7C2, 1, 2},
    {0xA7C4, 0xA7C4, -48, 1}, {0xA7C5, 0xA7C5, -42307, 1}, {0xA7C6, 0xA7C6, -35384, 1},
    {0xA7C7, 0xA7C9, 1, 2}, {0xA7D0, 0xA7D0, 1, 1}, {0xA7D6, 0xA7D8, 1, 2}, {0xA7F5, 0xA7F5, 1, 1},
    {0xFF21, 0xFF3A, 32, 1}, {0x10400, 0x10427, 40, 1}, {0x104B0, 0x104D3, 40, 1},
    {0x10570, 0x1057A, 39, 1}, {0x1057C, 0x1058A, 39, 1}, {0x1058C, 0x10592, 39, 1},
    {0x10594, 0x10595, 39, 1}, {0x10C80, 0x10CB2, 64, 1}, {0x118A0, 0x118BF, 32, 1},
    {0x16E40, 0x16E5F, 32, 1}, {0x1E900, 0x1E921, 34, 1},
};
static const struct case_multi upper_multi[] = {
    {0xDF, {0x53, 0x53}}, {0x149, {0x2BC, 0x4E}}, {0x1F0, {0x4A, 0x30C}},
    {0x390, {0x399, 0x308, 0x301}}, {0x3B0, {0x3A5, 0x308, 0x301}}, {0x587, {0x535, 0x552}},
    {0x1E96, {0x48, 0x331}}, {0x1E97, {0x54, 0x308}}, {0x1E98, {0x57, 0x30A}},
    {0x1E99, {0x59, 0x30A}}, {0x1E9A, {0x41, 0x2BE}}, {0x1F50, {0x3A5, 0x313}},
    {0x1F52, {0x3A5, 0x313, 0x300}}, {0x1F54, {0x3A5, 0x313, 0x301}},
    {0x1F56, {0x3A5, 0x313, 0x342}}, {0x1F80, {0x1F08, 0x399}}, {0x1F81, {0x1F09, 0x399}},
    {0x1F82, {0x1F0A, 0x399}}, {0x1F83, {0x1F0B, 0x399}}, {0x1F84, {0x1F0C, 0x399}},
    {0x1F85, {0x1F0D, 0x399}}, {0x1F86, {0x1F0E, 0x399}}, {0x1F87, {0x1F0F, 0x399}},
    {0x1F88, {0x1F08, 0x399}}, {0x1F89, {0x1F09, 0x399}}, {0x1F8A, {0x1F0A, 0x399}},
    {0x1F8B, {0x1F0B, 0x399}}, {0x1F8C, {0x1F0C, 0x399}}, {0x1F8D, {0x1F0D, 0x399}},
    {0x1F8E, {0x1F0E, 0x399}}, {0x1F8F, {0x1F0F, 0x399}}, {0x1F90, {0x1F28, 0x399}},
    {0x1F91, {0x1F29, 0x399}}, {0x1F92, {0x1F2A, 0x399}}, {0x1F93, {0x1F2B, 0x399}},
    {0x1F94, {0x1F2C, 0x399}}, {0x1F95, {0x1F2D, 0x399}}, {0x1F96, {0x1F2E, 0x399}},
    {0x1F97, {0x1F2F, 0x399}}, {0x1F98, {0x1F28, 0x399}}, {0x1F99, {0x1F29, 0x399}},
    {0x1F9A, {0x1F2A, 0x399}}, {0x1F9B, {0x1F2B, 0x399}}, {0x1F9C, {0x1F2C, 0x399}},
    {0x1F9D, {0x1F2D, 0x399}}, {0x1F9E, {0x1F2E, 0x399}}, {0x1F9F, {0x1F2F, 0x399}},
    {0x1FA0, {0x1F68, 0x399}}, {0x1FA1, {0x1F69, 0x399}}, {0x1FA2, {0x1F6A, 0x399}},
    {0x1FA3, {0x1F6B, 0x399}}, {0x1FA4, {0x1F6C, 0x399}}, {0x1FA5, {0x1F6D, 0x399}},
    {0x1FA6, {0x1F6E, 0x399}}, {0x1FA7, {0x1F6F, 0x399}}, {0x1FA8, {0x1F68, 0x399}},
    {0x1FA9, {0x1F69, 0x399}}, {0x1FAA, {0x1F6A, 0x399}}, {0x1FAB, {0x1F6B, 0x399}},
    {0x1FAC, {0x1F6C, 0x399}}, {0x1FAD, {0x1F6D, 0x399}}, {0x1FAE, {0x1F6E, 0x399}},
    {0x1FAF, {0x1F6F, 0x399}}, {0x1FB2, {0x1FBA, 0x399}}, {0x1FB3, {0x391, 0x399}},
    {0x1FB4, {0x386, 0x399}}, {0x1FB6, {0x391, 0x342}}, {0x1FB7, {0x391, 0x342, 0x399}},
    {0x1FBC, {0x391, 0x399}}, {0x1FC2, {0x1FCA, 0x399}}, {0x1FC3, {0x397, 0x399}},
    {0x1FC4, {0x389, 0x399}}, {0x1FC6, {0x397, 0x342}}, {0x1FC7, {0x397, 0x342, 0x399}},
    {0x1FCC, {0x397, 0x399}}, {0x1FD2, {0x399, 0x308, 0x300}}, {0x1FD3, {0x399, 0x308, 0x301}},
    {0x1FD6, {0x399, 0x342}}, {0x1FD7, {0x399, 0x308, 0x342}}, {0x1FE2, {0x3A5, 0x308, 0x300}},
    {0x1FE3, {0x3A5, 0x308, 0x301}}, {0x1FE4, {0x3A1, 0x313}}, {0x1FE6, {0x3A5, 0x342}},
    {0x1FE7, {0x3A5, 0x308, 0x342}}, {0x1FF2, {0x1FFA, 0x399}}, {0x1FF3, {0x3A9, 0x399}},
    {0x1FF4, {0x38F, 0x399}}, {0x1FF6, {0x3A9, 0x342}}, {0x1FF7, {0x3A9, 0x342, 0x399}},
    {0x1FFC, {0x3A9, 0x399}}, {0xFB00, {0x46, 0x46}}, {0xFB01, {0x46, 0x49}},
    {0xFB02, {0x46, 0x4C}}, {0xFB03, {0x46, 0x46, 0x49}}, {0xFB04, {0x46, 0x46, 0x4C}},
    {0xFB05, {0x53, 0x54}}, {0xFB06, {0x53, 0x54}}, {0xFB13, {0x544, 0x546}},
    {0xFB14, {0x544, 0x535}}, {0xFB15, {0x544, 0x53B}}, {0xFB16, {0x54E, 0x546}},
    {0xFB17, {0x544, 0x53D}},
};
static const struct case_multi lower_multi[] = {
    {0x130, {0x69, 0x307}},
};

/*
 * Unicode blocks for XSD's \p{IsName}: the name is the block's name without
 * spaces (from Unicode 14's Blocks.txt). XSD 1.0 spelled a few differently;
 * those follow as aliases.
 */
struct block {
  const char *name;
  uint32_t lo, hi;
};
static const struct block blocks[] = {
    {"BasicLatin", 0x0000, 0x007F}, {"Latin-1Supplement", 0x0080, 0x00FF},
    {"LatinExtended-A", 0x0100, 0x017F}, {"LatinExtended-B", 0x0180, 0x024F},
    {"IPAExtensions", 0x0250, 0x02AF}, {"SpacingModifierLetters", 0x02B0, 0x02FF},
    {"CombiningDiacriticalMarks", 0x0300, 0x036F}, {"GreekandCoptic", 0x0370, 0x03FF},
    {"Cyrillic", 0x0400, 0x04FF}, {"CyrillicSupplement", 0x0500, 0x052F},
    {"Armenian", 0x0530, 0x058F}, {"Hebrew", 0x0590, 0x05FF}, {"Arabic", 0x0600, 0x06FF},
    {"Syriac", 0x0700, 0x074F}, {"ArabicSupplement", 0x0750, 0x077F}, {"Thaana", 0x0780, 0x07BF},
    {"NKo", 0x07C0, 0x07FF}, {"Samaritan", 0x0800, 0x083F}, {"Mandaic", 0x0840, 0x085F},
    {"SyriacSupplement", 0x0860, 0x086F}, {"ArabicExtended-B", 0x0870, 0x089F},
    {"ArabicExtended-A", 0x08A0, 0x08FF}, {"Devanagari", 0x0900, 0x097F},
    {"Bengali", 0x0980, 0x09FF}, {"Gurmukhi", 0x0A00, 0x0A7F}, {"Gujarati", 0x0A80, 0x0AFF},
    {"Oriya", 0x0B00, 0x0B7F}, {"Tamil", 0x0B80, 0x0BFF}, {"Telugu", 0x0C00, 0x0C7F},
    {"Kannada", 0x0C80, 0x0CFF}, {"Malayalam", 0x0D00, 0x0D7F}, {"Sinhala", 0x0D80, 0x0DFF},
    {"Thai", 0x0E00, 0x0E7F}, {"Lao", 0x0E80, 0x0EFF}, {"Tibetan", 0x0F00, 0x0FFF},
    {"Myanmar", 0x1000, 0x109F}, {"Georgian", 0x10A0, 0x10FF}, {"HangulJamo", 0x1100, 0x11FF},
    {"Ethiopic", 0x1200, 0x137F}, {"EthiopicSupplement", 0x1380, 0x139F},
    {"Cherokee", 0x13A0, 0x13FF}, {"UnifiedCanadianAboriginalSyllabics", 0x1400, 0x167F},
    {"Ogham", 0x1680, 0x169F}, {"Runic", 0x16A0, 0x16FF}, {"Tagalog", 0x1700, 0x171F},
    {"Hanunoo", 0x1720, 0x173F}, {"Buhid", 0x1740, 0x175F}, {"Tagbanwa", 0x1760, 0x177F},
    {"Khmer", 0x1780, 0x17FF}, {"Mongolian", 0x1800, 0x18AF},
    {"UnifiedCanadianAboriginalSyllabicsExtended", 0x18B0, 0x18FF}, {"Limbu", 0x1900, 0x194F},
    {"TaiLe", 0x1950, 0x197F}, {"NewTaiLue", 0x1980, 0x19DF}, {"KhmerSymbols", 0x19E0, 0x19FF},
    {"Buginese", 0x1A00, 0x1A1F}, {"TaiTham", 0x1A20, 0x1AAF},
    {"CombiningDiacriticalMarksExtended", 0x1AB0, 0x1AFF}, {"Balinese", 0x1B00, 0x1B7F},
    {"Sundanese", 0x1B80, 0x1BBF}, {"Batak", 0x1BC0, 0x1BFF}, {"Lepcha", 0x1C00, 0x1C4F},
    {"OlChiki", 0x1C50, 0x1C7F}, {"CyrillicExtended-C", 0x1C80, 0x1C8F},
    {"GeorgianExtended", 0x1C90, 0x1CBF}, {"SundaneseSupplement", 0x1CC0, 0x1CCF},
    {"VedicExtensions", 0x1CD0, 0x1CFF}, {"PhoneticExtensions", 0x1D00, 0x1D7F},
    {"PhoneticExtensionsSupplement", 0x1D80, 0x1DBF},
    {"CombiningDiacriticalMarksSupplement", 0x1DC0, 0x1DFF},
    {"LatinExtendedAdditional", 0x1E00, 0x1EFF}, {"GreekExtended", 0x1F00, 0x1FFF},
    {"GeneralPunctuation", 0x2000, 0x206F}, {"SuperscriptsandSubscripts", 0x2070, 0x209F},
    {"CurrencySymbols", 0x20A0, 0x20CF}, {"CombiningDiacriticalMarksforSymbols", 0x20D0, 0x20FF},
    {"LetterlikeSymbols", 0x2100, 0x214F}, {"NumberForms", 0x2150, 0x218F},
    {"Arrows", 0x2190, 0x21FF}, {"MathematicalOperators", 0x2200, 0x22FF},
    {"MiscellaneousTechnical", 0x2300, 0x23FF}, {"ControlPictures", 0x2400, 0x243F},
    {"OpticalCharacterRecognition", 0x2440, 0x245F}, {"EnclosedAlphanumerics", 0x2460, 0x24FF},
    {"BoxDrawing", 0x2500, 0x257F}, {"BlockElements", 0x2580, 0x259F},
    {"GeometricShapes", 0x25A0, 0x25FF}, {"MiscellaneousSymbols", 0x2600, 0x26FF},
    {"Dingbats", 0x2700, 0x27BF}, {"MiscellaneousMathematicalSymbols-A", 0x27C0, 0x27EF},
    {"SupplementalArrows-A", 0x27F0, 0x27FF}, {"BraillePatterns", 0x2800, 0x28FF},
    {"SupplementalArrows-B", 0x2900, 0x297F},
    {"MiscellaneousMathematicalSymbols-B", 0x2980, 0x29FF},
    {"SupplementalMathematicalOperators", 0x2A00, 0x2AFF},
    {"MiscellaneousSymbolsandArrows", 0x2B00, 0x2BFF}, {"Glagolitic", 0x2C00, 0x2C5F},
    {"LatinExtended-C", 0x2C60, 0x2C7F}, {"Coptic", 0x2C80, 0x2CFF},
    {"GeorgianSupplement", 0x2D00, 0x2D2F}, {"Tifinagh", 0x2D30, 0x2D7F},
    {"EthiopicExtended", 0x2D80, 0x2DDF}, {"CyrillicExtended-A", 0x2DE0, 0x2DFF},
    {"SupplementalPunctuation", 0x2E00, 0x2E7F}, {"CJKRadicalsSupplement", 0x2E80, 0x2EFF},
    {"KangxiRadicals", 0x2F00, 0x2FDF}, {"IdeographicDescriptionCharacters", 0x2FF0, 0x2FFF},
    {"CJKSymbolsandPunctuation", 0x3000, 0x303F}, {"Hiragana", 0x3040, 0x309F},
    {"Katakana", 0x30A0, 0x30FF}, {"Bopomofo", 0x3100, 0x312F},
    {"HangulCompatibilityJamo", 0x3130, 0x318F}, {"Kanbun", 0x3190, 0x319F},
    {"BopomofoExtended", 0x31A0, 0x31BF}, {"CJKStrokes", 0x31C0, 0x31EF},
    {"KatakanaPhoneticExtensions", 0x31F0, 0x31FF}, {"EnclosedCJKLettersandMonths", 0x3200, 0x32FF},
    {"CJKCompatibility", 0x3300, 0x33FF}, {"CJKUnifiedIdeographsExtensionA", 0x3400, 0x4DBF},
    {"YijingHexagramSymbols", 0x4DC0, 0x4DFF}, {"CJKUnifiedIdeographs", 0x4E00, 0x9FFF},
    {"YiSyllables", 0xA000, 0xA48F}, {"YiRadicals", 0xA490, 0xA4CF}, {"Lisu", 0xA4D0, 0xA4FF},
    {"Vai", 0xA500, 0xA63F}, {"CyrillicExtended-B", 0xA640, 0xA69F}, {"Bamum", 0xA6A0, 0xA6FF},
    {"ModifierToneLetters", 0xA700, 0xA71F}, {"LatinExtended-D", 0xA720, 0xA7FF},
    {"SylotiNagri", 0xA800, 0xA82F}, {"CommonIndicNumberForms", 0xA830, 0xA83F},
    {"Phags-pa", 0xA840, 0xA87F}, {"Saurashtra", 0xA880, 0xA8DF},
    {"DevanagariExtended", 0xA8E0, 0xA8FF}, {"KayahLi", 0xA900, 0xA92F}, {"Rejang", 0xA930, 0xA95F},
    {"HangulJamoExtended-A", 0xA960, 0xA97F}, {"Javanese", 0xA980, 0xA9DF},
    {"MyanmarExtended-B", 0xA9E0, 0xA9FF}, {"Cham", 0xAA00, 0xAA5F},
    {"MyanmarExtended-A", 0xAA60, 0xAA7F}, {"TaiViet", 0xAA80, 0xAADF},
    {"MeeteiMayekExtensions", 0xAAE0, 0xAAFF}, {"EthiopicExtended-A", 0xAB00, 0xAB2F},
    {"LatinExtended-E", 0xAB30, 0xAB6F}, {"CherokeeSupplement", 0xAB70, 0xABBF},
    {"MeeteiMayek", 0xABC0, 0xABFF}, {"HangulSyllables", 0xAC00, 0xD7AF},
    {"HangulJamoExtended-B", 0xD7B0, 0xD7FF}, {"HighSurrogates", 0xD800, 0xDB7F},
    {"HighPrivateUseSurrogates", 0xDB80, 0xDBFF}, {"LowSurrogates", 0xDC00, 0xDFFF},
    {"PrivateUseArea", 0xE000, 0xF8FF}, {"CJKCompatibilityIdeographs", 0xF900, 0xFAFF},
    {"AlphabeticPresentationForms", 0xFB00, 0xFB4F}, {"ArabicPresentationForms-A", 0xFB50, 0xFDFF},
    {"VariationSelectors", 0xFE00, 0xFE0F}, {"VerticalForms", 0xFE10, 0xFE1F},
    {"CombiningHalfMarks", 0xFE20, 0xFE2F}, {"CJKCompatibilityForms", 0xFE30, 0xFE4F},
    {"SmallFormVariants", 0xFE50, 0xFE6F}, {"ArabicPresentationForms-B", 0xFE70, 0xFEFF},
    {"HalfwidthandFullwidthForms", 0xFF00, 0xFFEF}, {"Specials", 0xFFF0, 0xFFFF},
    {"LinearBSyllabary", 0x10000, 0x1007F}, {"LinearBIdeograms", 0x10080, 0x100FF},
    {"AegeanNumbers", 0x10100, 0x1013F}, {"AncientGreekNumbers", 0x10140, 0x1018F},
    {"AncientSymbols", 0x10190, 0x101CF}, {"PhaistosDisc", 0x101D0, 0x101FF},
    {"Lycian", 0x10280, 0x1029F}, {"Carian", 0x102A0, 0x102DF},
    {"CopticEpactNumbers", 0x102E0, 0x102FF}, {"OldItalic", 0x10300, 0x1032F},
    {"Gothic", 0x10330, 0x1034F}, {"OldPermic", 0x10350, 0x1037F}, {"Ugaritic", 0x10380, 0x1039F},
    {"OldPersian", 0x103A0, 0x103DF}, {"Deseret", 0x10400, 0x1044F}, {"Shavian", 0x10450, 0x1047F},
    {"Osmanya", 0x10480, 0x104AF}, {"Osage", 0x104B0, 0x104FF}, {"Elbasan", 0x10500, 0x1052F},
    {"CaucasianAlbanian", 0x10530, 0x1056F}, {"Vithkuqi", 0x10570, 0x105BF},
    {"LinearA", 0x10600, 0x1077F}, {"LatinExtended-F", 0x10780, 0x107BF},
    {"CypriotSyllabary", 0x10800, 0x1083F}, {"ImperialAramaic", 0x10840, 0x1085F},
    {"Palmyrene", 0x10860, 0x1087F}, {"Nabataean", 0x10880, 0x108AF}, {"Hatran", 0x108E0, 0x108FF},
    {"Phoenician", 0x10900, 0x1091F}, {"Lydian", 0x10920, 0x1093F},
    {"MeroiticHieroglyphs", 0x10980, 0x1099F}, {"MeroiticCursive", 0x109A0, 0x109FF},
    {"Kharoshthi", 0x10A00, 0x10A5F}, {"OldSouthArabian", 0x10A60, 0x10A7F},
    {"OldNorthArabian", 0x10A80, 0x10A9F}, {"Manichaean", 0x10AC0, 0x10AFF},
    {"Avestan", 0x10B00, 0x10B3F}, {"InscriptionalParthian", 0x10B40, 0x10B5F},
    {"InscriptionalPahlavi", 0x10B60, 0x10B7F}, {"PsalterPahlavi", 0x10B80, 0x10BAF},
    {"OldTurkic", 0x10C00, 0x10C4F}, {"OldHungarian", 0x10C80, 0x10CFF},
    {"HanifiRohingya", 0x10D00, 0x10D3F}, {"RumiNumeralSymbols", 0x10E60, 0x10E7F},
    {"Yezidi", 0x10E80, 0x10EBF}, {"OldSogdian", 0x10F00, 0x10F2F}, {"Sogdian", 0x10F30, 0x10F6F},
    {"OldUyghur", 0x10F70, 0x10FAF}, {"Chorasmian", 0x10FB0, 0x10FDF},
    {"Elymaic", 0x10FE0, 0x10FFF}, {"Brahmi", 0x11000, 0x1107F}, {"Kaithi", 0x11080, 0x110CF},
    {"SoraSompeng", 0x110D0, 0x110FF}, {"Chakma", 0x11100, 0x1114F}, {"Mahajani", 0x11150, 0x1117F},
    {"Sharada", 0x11180, 0x111DF}, {"SinhalaArchaicNumbers", 0x111E0, 0x111FF},
    {"Khojki", 0x11200, 0x1124F}, {"Multani", 0x11280, 0x112AF}, {"Khudawadi", 0x112B0, 0x112FF},
    {"Grantha", 0x11300, 0x1137F}, {"Newa", 0x11400, 0x1147F}, {"Tirhuta", 0x11480, 0x114DF},
    {"Siddham", 0x11580, 0x115FF}, {"Modi", 0x11600, 0x1165F},
    {"MongolianSupplement", 0x11660, 0x1167F}, {"Takri", 0x11680, 0x116CF},
    {"Ahom", 0x11700, 0x1174F}, {"Dogra", 0x11800, 0x1184F}, {"WarangCiti", 0x118A0, 0x118FF},
    {"DivesAkuru", 0x11900, 0x1195F}, {"Nandinagari", 0x119A0, 0x119FF},
    {"ZanabazarSquare", 0x11A00, 0x11A4F}, {"Soyombo", 0x11A50, 0x11AAF},
    {"UnifiedCanadianAboriginalSyllabicsExtended-A", 0x11AB0, 0x11ABF},
    {"PauCinHau", 0x11AC0, 0x11AFF}, {"Bhaiksuki", 0x11C00, 0x11C6F}, {"Marchen", 0x11C70, 0x11CBF},
    {"MasaramGondi", 0x11D00, 0x11D5F}, {"GunjalaGondi", 0x11D60, 0x11DAF},
    {"Makasar", 0x11EE0, 0x11EFF}, {"LisuSupplement", 0x11FB0, 0x11FBF},
    {"TamilSupplement", 0x11FC0, 0x11FFF}, {"Cuneiform", 0x12000, 0x123FF},
    {"CuneiformNumbersandPunctuation", 0x12400, 0x1247F},
    {"EarlyDynasticCuneiform", 0x12480, 0x1254F}, {"Cypro-Minoan", 0x12F90, 0x12FFF},
    {"EgyptianHieroglyphs", 0x13000, 0x1342F},
    {"EgyptianHieroglyphFormatControls", 0x13430, 0x1343F},
    {"AnatolianHieroglyphs", 0x14400, 0x1467F}, {"BamumSupplement", 0x16800, 0x16A3F},
    {"Mro", 0x16A40, 0x16A6F}, {"Tangsa", 0x16A70, 0x16ACF}, {"BassaVah", 0x16AD0, 0x16AFF},
    {"PahawhHmong", 0x16B00, 0x16B8F}, {"Medefaidrin", 0x16E40, 0x16E9F},
    {"Miao", 0x16F00, 0x16F9F}, {"IdeographicSymbolsandPunctuation", 0x16FE0, 0x16FFF},
    {"Tangut", 0x17000, 0x187FF}, {"TangutComponents", 0x18800, 0x18AFF},
    {"KhitanSmallScript", 0x18B00, 0x18CFF}, {"TangutSupplement", 0x18D00, 0x18D7F},
    {"KanaExtended-B", 0x1AFF0, 0x1AFFF}, {"KanaSupplement", 0x1B000, 0x1B0FF},
    {"KanaExtended-A", 0x1B100, 0x1B12F}, {"SmallKanaExtension", 0x1B130, 0x1B16F},
    {"Nushu", 0x1B170, 0x1B2FF}, {"Duployan", 0x1BC00, 0x1BC9F},
    {"ShorthandFormatControls", 0x1BCA0, 0x1BCAF}, {"ZnamennyMusicalNotation", 0x1CF00, 0x1CFCF},
    {"ByzantineMusicalSymbols", 0x1D000, 0x1D0FF}, {"MusicalSymbols", 0x1D100, 0x1D1FF},
    {"AncientGreekMusicalNotation", 0x1D200, 0x1D24F}, {"MayanNumerals", 0x1D2E0, 0x1D2FF},
    {"TaiXuanJingSymbols", 0x1D300, 0x1D35F}, {"CountingRodNumerals", 0x1D360, 0x1D37F},
    {"MathematicalAlphanumericSymbols", 0x1D400, 0x1D7FF}, {"SuttonSignWriting", 0x1D800, 0x1DAAF},
    {"LatinExtended-G", 0x1DF00, 0x1DFFF}, {"GlagoliticSupplement", 0x1E000, 0x1E02F},
    {"NyiakengPuachueHmong", 0x1E100, 0x1E14F}, {"Toto", 0x1E290, 0x1E2BF},
    {"Wancho", 0x1E2C0, 0x1E2FF}, {"EthiopicExtended-B", 0x1E7E0, 0x1E7FF},
    {"MendeKikakui", 0x1E800, 0x1E8DF}, {"Adlam", 0x1E900, 0x1E95F},
    {"IndicSiyaqNumbers", 0x1EC70, 0x1ECBF}, {"OttomanSiyaqNumbers", 0x1ED00, 0x1ED4F},
    {"ArabicMathematicalAlphabeticSymbols", 0x1EE00, 0x1EEFF}, {"MahjongTiles", 0x1F000, 0x1F02F},
    {"DominoTiles", 0x1F030, 0x1F09F}, {"PlayingCards", 0x1F0A0, 0x1F0FF},
    {"EnclosedAlphanumericSupplement", 0x1F100, 0x1F1FF},
    {"EnclosedIdeographicSupplement", 0x1F200, 0x1F2FF},
    {"MiscellaneousSymbolsandPictographs", 0x1F300, 0x1F5FF}, {"Emoticons", 0x1F600, 0x1F64F},
    {"OrnamentalDingbats", 0x1F650, 0x1F67F}, {"TransportandMapSymbols", 0x1F680, 0x1F6FF},
    {"AlchemicalSymbols", 0x1F700, 0x1F77F}, {"GeometricShapesExtended", 0x1F780, 0x1F7FF},
    {"SupplementalArrows-C", 0x1F800, 0x1F8FF},
    {"SupplementalSymbolsandPictographs", 0x1F900, 0x1F9FF}, {"ChessSymbols", 0x1FA00, 0x1FA6F},
    {"SymbolsandPictographsExtended-A", 0x1FA70, 0x1FAFF},
    {"SymbolsforLegacyComputing", 0x1FB00, 0x1FBFF},
    {"CJKUnifiedIdeographsExtensionB", 0x20000, 0x2A6DF},
    {"CJKUnifiedIdeographsExtensionC", 0x2A700, 0x2B73F},
    {"CJKUnifiedIdeographsExtensionD", 0x2B740, 0x2B81F},
    {"CJKUnifiedIdeographsExtensionE", 0x2B820, 0x2CEAF},
    {"CJKUnifiedIdeographsExtensionF", 0x2CEB0, 0x2EBEF},
    {"CJKCompatibilityIdeographsSupplement", 0x2F800, 0x2FA1F},
    {"CJKUnifiedIdeographsExtensionG", 0x30000, 0x3134F}, {"Tags", 0xE0000, 0xE007F},
    {"VariationSelectorsSupplement", 0xE0100, 0xE01EF},
    {"SupplementaryPrivateUseArea-A", 0xF0000, 0xFFFFF},
    {"SupplementaryPrivateUseArea-B", 0x100000, 0x10FFFF},
};
static const struct block block_aliases[] = {
    {"Greek", 0x0370, 0x03FF},
    {"CombiningMarksforSymbols", 0x20D0, 0x20FF},
    {"CyrillicSupplementary", 0x0500, 0x052F},
    {"PrivateUse", 0xE000, 0xF8FF},
};

/* ------------------------------------------------------------- helpers */

/* True if v is a string; else warns that fname's parameter pname is not one. */
static bool need_string(struct cf_feel_eval *ev, const char *fname, const char *pname,
                        const struct cf_feel_value *v) {
  if (v->type == CF_FEEL_STRING) return true;
  if (v->type == CF_FEEL_NULL)
    cf__feel_warn(ev, "%s: %s is null", fname, pname);
  else
    cf__feel_warn(ev, "%s: %s must be a string, not %s", fname, pname,
                  cf_feel_type_name((enum cf_feel_type)v->type));
  return false;
}

static bool need_number(struct cf_feel_eval *ev, const char *fname, const char *pname,
                        const struct cf_feel_value *v) {
  if (v->type == CF_FEEL_NUMBER) return true;
  if (v->type == CF_FEEL_NULL)
    cf__feel_warn(ev, "%s: %s is null", fname, pname);
  else
    cf__feel_warn(ev, "%s: %s must be a number, not %s", fname, pname,
                  cf_feel_type_name((enum cf_feel_type)v->type));
  return false;
}

/*
 * An optional string argument (flags, delimiter...): absent or null gives
 * *s = NULL. False (warned) for any other type.
 */
static bool opt_string(struct cf_feel_eval *ev, const char *fname, const char *pname,
                       const struct cf_feel_value *args, size_t nargs, size_t i,
                       const struct cf_feel_str **s) {
  *s = NULL;
  if (i >= nargs || args[i].type == CF_FEEL_NULL) return true;
  if (!need_string(ev, fname, pname, &args[i])) return false;
  *s = args[i].u.string;
  return true;
}

/*
 * *out becomes the string of len bytes at s (valid UTF-8 by construction).
 * CF_OK or CF_ENOMEM.
 */
static int set_str(struct cf_feel_value *out, const char *s, size_t len) {
  int rc = cf_feel_set_string(out, s, len);
  if (rc == CF_ENOMEM) return rc;
  if (rc != CF_OK) cf_feel_set_null(out); /* cannot happen: inputs are valid UTF-8 */
  return CF_OK;
}

static int set_buf(struct cf_feel_value *out, const struct cf_buf *b) {
  if (b->oom) return CF_ENOMEM;
  return set_str(out, b->data, b->len);
}

/* Byte length of the UTF-8 sequence that starts with byte c (valid UTF-8 assumed). */
static size_t seq_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/*
 * How many bytes of a pattern to quote in a warning: at most about 60, cut
 * at a character boundary, so a huge pattern does not flood the warnings.
 */
#define QUOTE_MAX 60
static int quote_len(const struct cf_feel_str *s) {
  size_t n = 0;
  while (n < s->len && n < QUOTE_MAX) n += seq_len((unsigned char)s->data[n]);
  return (int)n;
}
#define QUOTE(s) quote_len(s), (s)->data, (s)->len > (uint32_t)quote_len(s) ? "..." : ""

/* Byte offset of code point n of s (s->len if n is past the end). */
static size_t cp_offset(const struct cf_feel_str *s, int64_t n) {
  size_t i = 0;
  while (n-- > 0 && i < s->len) i += seq_len((unsigned char)s->data[i]);
  return i < s->len ? i : s->len;
}

/*
 * A number truncated toward zero (as Java's intValue() does in the engines
 * the TCK was written against: substring("foobar", 3, 3.8) is "oba").
 * Saturates at +-2^62, so that sums of two such values cannot overflow.
 */
static int64_t trunc_int(const decNumber *n) {
  decContext ctx;
  cf__feel_dec_context(&ctx);
  ctx.round = DEC_ROUND_DOWN;
  struct cf_feel_value whole = {.type = CF_FEEL_NUMBER};
  decNumberToIntegralValue(&whole.u.number, n, &ctx);
  int64_t r;
  const int64_t lim = INT64_C(1) << 62;
  if (cf_feel_number_to_int64(&whole, &r)) return r < -lim ? -lim : r > lim ? lim : r;
  return decNumberIsNegative(n) ? -lim : lim;
}

/* Java's Character.isWhitespace: what trim and is blank treat as blank. */
static bool is_space(uint32_t cp) {
  return cp <= 0x20 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x2006) ||
         (cp >= 0x2008 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x205F ||
         cp == 0x3000;
}

/* ------------------------------------------------------- case mapping */

static const struct case_run *find_run(const struct case_run *runs, size_t n, uint32_t cp) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (runs[mid].hi < cp)
      lo = mid + 1;
    else if (runs[mid].lo > cp)
      hi = mid;
    else
      return (cp - runs[mid].lo) % runs[mid].step == 0 ? &runs[mid] : NULL;
  }
  return NULL;
}

static const struct case_multi *find_multi(const struct case_multi *m, size_t n, uint32_t cp) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m[mid].cp < cp)
      lo = mid + 1;
    else if (m[mid].cp > cp)
      hi = mid;
    else
      return &m[mid];
  }
  return NULL;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* True if cp has an upper- or lower-case form (close enough to "cased" for final sigma). */
static bool is_cased(uint32_t cp) {
  return find_run(upper_runs, NELEM(upper_runs), cp) ||
         find_run(lower_runs, NELEM(lower_runs), cp) ||
         find_multi(upper_multi, NELEM(upper_multi), cp);
}

static void put_cp(struct cf_buf *b, uint32_t cp) {
  char tmp[4];
  cf_buf_append(b, tmp, cf__feel_utf8_encode(cp, tmp));
}

/*
 * Appends s mapped to upper or lower case. Lower-casing gives Σ its final
 * form ς at the end of a word, as Java (and therefore Camunda) does.
 */
static void map_case(struct cf_buf *b, const struct cf_feel_str *s, bool upper) {
  const struct case_run *runs = upper ? upper_runs : lower_runs;
  size_t nruns = upper ? NELEM(upper_runs) : NELEM(lower_runs);
  const struct case_multi *multi = upper ? upper_multi : lower_multi;
  size_t nmulti = upper ? NELEM(upper_multi) : NELEM(lower_multi);
  uint32_t prev = 0;
  for (size_t i = 0; i < s->len;) {
    uint32_t cp;
    i += cf__feel_utf8_decode(s->data + i, &cp);
    const struct case_multi *m = find_multi(multi, nmulti, cp);
    if (m) {
      for (size_t k = 0; k < 3 && m->to[k]; k++) put_cp(b, m->to[k]);
    } else if (!upper && cp == 0x03A3 && is_cased(prev)) {
      uint32_t next = 0;
      if (i < s->len) cf__feel_utf8_decode(s->data + i, &next);
      put_cp(b, is_cased(next) ? 0x03C3 : 0x03C2);
    } else {
      const struct case_run *r = find_run(runs, nruns, cp);
      put_cp(b, r ? (uint32_t)((int32_t)cp + r->delta) : cp);
    }
    prev = cp;
  }
}

/* --------------------------------------------- XSD regex -> PCRE2 syntax */

/*
 * Limits on one pcre2_match call. The match limit bounds backtracking (a
 * catastrophic pattern such as (a+)+b against a long run of a's fails after
 * about a million steps, some milliseconds); depth and heap bound the
 * memory a match may take.
 */
#define RX_MATCH_LIMIT 1000000u
#define RX_DEPTH_LIMIT 10000u
#define RX_HEAP_LIMIT_KIB 16384u
#define RX_QUANT_MAX 65535u    /* PCRE2's largest repeat count */
#define RX_CLASS_DEPTH_MAX 32u /* nested class subtractions */

struct range {
  uint32_t lo, hi;
};

/* XSD \s: space, tab, newline, carriage return (no more: not PCRE2's \s). */
static const struct range space_ranges[] = {{0x9, 0xA}, {0xD, 0xD}, {0x20, 0x20}};

/* \i: XML 1.0 (5th edition) NameStartChar. */
static const struct range name_start_ranges[] = {
    {':', ':'},         {'A', 'Z'},         {'_', '_'},         {'a', 'z'},
    {0xC0, 0xD6},       {0xD8, 0xF6},       {0xF8, 0x2FF},      {0x370, 0x37D},
    {0x37F, 0x1FFF},    {0x200C, 0x200D},   {0x2070, 0x218F},   {0x2C00, 0x2FEF},
    {0x3001, 0xD7FF},   {0xF900, 0xFDCF},   {0xFDF0, 0xFFFD},   {0x10000, 0xEFFFF}};

/* \c: XML 1.0 (5th edition) NameChar. */
static const struct range name_ranges[] = {
    {'-', '.'},       {'0', ':'},       {'A', 'Z'},       {'_', '_'},       {'a', 'z'},
    {0xB7, 0xB7},     {0xC0, 0xD6},     {0xD8, 0xF6},     {0xF8, 0x37D},    {0x37F, 0x1FFF},
    {0x200C, 0x200D}, {0x203F, 0x2040}, {0x2070, 0x218F}, {0x2C00, 0x2FEF}, {0x3001, 0xD7FF},
    {0xF900, 0xFDCF}, {0xFDF0, 0xFFFD}, {0x10000, 0xEFFFF}};

/* The general categories XSD names in \p{..} (PCRE2 knows them all). */
static const char *const categories[] = {
    "L",  "Lu", "Ll", "Lt", "Lm", "Lo", "M",  "Mn", "Mc", "Me", "N",  "Nd",
    "Nl", "No", "P",  "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Z",  "Zs",
    "Zl", "Zp", "S",  "Sm", "Sc", "Sk", "So", "C",  "Cc", "Cf", "Co", "Cn"};

/* One translation in progress. */
struct rx_tr {
  const char *p, *end; /* cursor in the pattern */
  struct cf_buf *out;
  bool dotall;          /* the s flag */
  uint32_t ngroups;     /* capturing groups opened so far */
  uint32_t *open;       /* open groups, innermost last (0 = non-capturing) */
  size_t nopen;
  bool *closed;         /* closed[n]: group n's ')' has been seen */
  char err[120];        /* why the pattern is invalid */
};

static bool tr_fail(struct rx_tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool tr_fail(struct rx_tr *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->err, sizeof t->err, fmt, ap);
  va_end(ap);
  return false;
}

/*
 * Appends the range lo..hi to a PCRE2 class body. PCRE2 refuses surrogate
 * code points, which never occur in UTF-8 text anyway, so they are cut out.
 */
static void put_range(struct cf_buf *b, uint32_t lo, uint32_t hi) {
  if (lo >= 0xD800 && lo <= 0xDFFF) lo = 0xE000;
  if (hi >= 0xD800 && hi <= 0xDFFF) hi = 0xD7FF;
  if (lo > hi) return;
  if (lo == hi)
    cf_buf_printf(b, "\\x{%X}", (unsigned)lo);
  else
    cf_buf_printf(b, "\\x{%X}-\\x{%X}", (unsigned)lo, (unsigned)hi);
}

/* Appends a sorted, disjoint range list, or its complement, to a class body. */
static void put_ranges(struct cf_buf *b, const struct range *r, size_t n, bool complement) {
  if (!complement) {
    for (size_t i = 0; i < n; i++) put_range(b, r[i].lo, r[i].hi);
    return;
  }
  uint32_t next = 0;
  for (size_t i = 0; i < n; i++) {
    if (r[i].lo > next) put_range(b, next, r[i].lo - 1);
    next = r[i].hi + 1;
  }
  if (next <= 0x10FFFF) put_range(b, next, 0x10FFFF);
}

/* The code point a single-character escape (\n, \$, \[ ...) stands for, or -1. */
static int32_t single_escape(unsigned char c) {
  switch (c) {
  case 'n': return '\n';
  case 'r': return '\r';
  case 't': return '\t';
  case '\\': case '|': case '.': case '?': case '*': case '+': case '(': case ')':
  case '{': case '}': case '-': case '[': case ']': case '^': case '$':
    return c;
  default: return -1;
  }
}

/*
 * At the letter after a backslash: if it starts a multi-character escape
 * (\s \d \w \i \c, their complements, \p{..} and \P{..}), appends its PCRE2
 * class-body form to body, moves past it and returns 1. Returns 0 if the
 * letter is something else (cursor unmoved), -1 if it is malformed.
 */
static int tr_multi_escape(struct rx_tr *t, struct cf_buf *body) {
  unsigned char c = (unsigned char)*t->p;
  switch (c) {
  case 's': case 'S':
    put_ranges(body, space_ranges, NELEM(space_ranges), c == 'S');
    break;
  case 'i': case 'I':
    put_ranges(body, name_start_ranges, NELEM(name_start_ranges), c == 'I');
    break;
  case 'c': case 'C':
    put_ranges(body, name_ranges, NELEM(name_ranges), c == 'C');
    break;
  case 'd': cf_buf_puts(body, "\\p{Nd}"); break;
  case 'D': cf_buf_puts(body, "\\P{Nd}"); break;
  /* XSD \w is "not punctuation, separator or other": the other four categories. */
  case 'w': cf_buf_puts(body, "\\p{L}\\p{M}\\p{N}\\p{S}"); break;
  case 'W': cf_buf_puts(body, "\\p{P}\\p{Z}\\p{C}"); break;
  case 'p': case 'P': {
    const char *name = t->p + 1;
    if (name >= t->end || *name != '{') {
      tr_fail(t, "\\%c must be followed by {name}", c);
      return -1;
    }
    name++;
    const char *close = memchr(name, '}', (size_t)(t->end - name));
    size_t len = close ? (size_t)(close - name) : 0;
    if (!close || len == 0 || len > 64) {
      tr_fail(t, "malformed \\%c{...}", c);
      return -1;
    }
    bool found = false;
    if (len > 2 && name[0] == 'I' && name[1] == 's') {
      const struct block *tabs[] = {blocks, block_aliases};
      size_t ns[] = {NELEM(blocks), NELEM(block_aliases)};
      for (size_t k = 0; k < 2 && !found; k++)
        for (size_t i = 0; i < ns[k]; i++) {
          if (strlen(tabs[k][i].name) == len - 2 && !memcmp(tabs[k][i].name, name + 2, len - 2)) {
            struct range r = {tabs[k][i].lo, tabs[k][i].hi};
            put_ranges(body, &r, 1, c == 'P');
            found = true;
            break;
          }
        }
    } else {
      for (size_t i = 0; i < NELEM(categories); i++)
        if (strlen(categories[i]) == len && !memcmp(categories[i], name, len)) {
          cf_buf_printf(body, "\\%c{%s}", c, categories[i]);
          found = true;
          break;
        }
    }
    if (!found) {
      tr_fail(t, "unknown category or block \\%c{%.*s}", c, (int)len, name);
      return -1;
    }
    t->p = close;
    break;
  }
  default: return 0;
  }
  t->p++;
  return 1;
}

/*
 * One item of a character class: a character (maybe escaped), which is
 * stored in *cp (return 1), or a multi-character escape, which is appended
 * to body (return 2). 0 when invalid.
 */
static int tr_class_atom(struct rx_tr *t, struct cf_buf *body, uint32_t *cp) {
  unsigned char c = (unsigned char)*t->p;
  if (c == '[') return tr_fail(t, "'[' must be escaped inside a character class"), 0;
  if (c == '-') return tr_fail(t, "'-' must be escaped here"), 0;
  if (c != '\\') {
    t->p += cf__feel_utf8_decode(t->p, cp);
    return 1;
  }
  t->p++;
  if (t->p >= t->end) return tr_fail(t, "the pattern ends with '\\'"), 0;
  int32_t single = single_escape((unsigned char)*t->p);
  if (single >= 0) {
    t->p++;
    *cp = (uint32_t)single;
    return 1;
  }
  int m = tr_multi_escape(t, body);
  if (m > 0) return 2;
  if (m == 0)
    tr_fail(t, "invalid escape '\\%.*s' in a character class", (int)seq_len((unsigned char)*t->p),
            t->p);
  return 0;
}

/*
 * A character class expression at '[' (XSD charClassExpr, with subtraction
 * `[a-z-[aeiou]]`), appended to dst as one PCRE2 atom. Subtraction becomes
 * a negative look-ahead: (?:(?!subtracted)[base]).
 */
static bool tr_class(struct rx_tr *t, struct cf_buf *dst, unsigned depth) {
  if (depth > RX_CLASS_DEPTH_MAX) return tr_fail(t, "character classes nested too deeply");
  struct cf_buf body, sub;
  cf_buf_init(&body);
  cf_buf_init(&sub);
  bool ok = false, has_sub = false, neg = false;
  size_t nitems = 0;

  t->p++; /* '[' */
  if (t->p < t->end && *t->p == '^') {
    neg = true;
    t->p++;
  }
  for (;;) {
    if (t->p >= t->end) {
      tr_fail(t, "unclosed '['");
      goto out;
    }
    char c = *t->p;
    if (c == ']') {
      if (!nitems) {
        tr_fail(t, "empty character class");
        goto out;
      }
      t->p++;
      break;
    }
    if (c == '-') {
      bool last = t->p + 1 < t->end && t->p[1] == ']';
      if (t->p + 1 < t->end && t->p[1] == '[') {
        if (!nitems) {
          tr_fail(t, "nothing to subtract from");
          goto out;
        }
        t->p++;
        if (!tr_class(t, &sub, depth + 1)) goto out;
        if (t->p >= t->end || *t->p != ']') {
          tr_fail(t, "a subtraction must end its character class");
          goto out;
        }
        t->p++;
        has_sub = true;
        break;
      }
      /* XSD allows an unescaped '-' only first or last in a group. */
      if (nitems == 0 || last) {
        put_range(&body, '-', '-');
        nitems++;
        t->p++;
        continue;
      }
      tr_fail(t, "'-' must be escaped inside a character class");
      goto out;
    }
    uint32_t lo, hi;
    int kind = tr_class_atom(t, &body, &lo);
    if (!kind) goto out;
    nitems++;
    if (kind == 2) {
      if (t->p + 1 < t->end && t->p[0] == '-' && t->p[1] != '[' && t->p[1] != ']') {
        tr_fail(t, "a range cannot start with a multi-character escape");
        goto out;
      }
      continue;
    }
    if (t->p + 1 < t->end && t->p[0] == '-' && t->p[1] != '[' && t->p[1] != ']') {
      t->p++;
      int k2 = tr_class_atom(t, &body, &hi);
      if (!k2) goto out;
      if (k2 != 1) {
        tr_fail(t, "a range must end with a single character");
        goto out;
      }
      if (hi < lo) {
        tr_fail(t, "range out of order in character class");
        goto out;
      }
      put_range(&body, lo, hi);
    } else {
      put_range(&body, lo, lo);
    }
  }

  /* A class can come out empty only if it named nothing but surrogates. */
  const char *base_open = neg ? "[^" : "[";
  if (has_sub) {
    cf_buf_puts(dst, "(?:(?!");
    cf_buf_append(dst, sub.data, sub.len);
    cf_buf_puts(dst, ")");
  }
  if (body.len == 0) {
    cf_buf_puts(dst, neg ? "(?s:.)" : "(?!)");
  } else {
    cf_buf_puts(dst, base_open);
    cf_buf_append(dst, body.data, body.len);
    cf_buf_puts(dst, "]");
  }
  if (has_sub) cf_buf_puts(dst, ")");
  if (body.oom || sub.oom) dst->oom = true;
  ok = true;
out:
  cf_buf_release(&body);
  cf_buf_release(&sub);
  return ok;
}

/* A quantifier (? * + {n} {n,} {n,m}, optionally reluctant), at its first character. */
static bool tr_quantifier(struct rx_tr *t) {
  char c = *t->p++;
  if (c != '{') {
    cf_buf_putc(t->out, c);
  } else {
    uint32_t n[2] = {0, 0};
    int ndigits[2] = {0, 0};
    bool comma = false;
    for (int k = 0; k < 2; k++) {
      while (t->p < t->end && *t->p >= '0' && *t->p <= '9') {
        n[k] = n[k] * 10 + (uint32_t)(*t->p++ - '0');
        if (n[k] > RX_QUANT_MAX) return tr_fail(t, "repeat count above %u", RX_QUANT_MAX);
        ndigits[k]++;
      }
      if (k == 0 && t->p < t->end && *t->p == ',') {
        comma = true;
        t->p++;
      } else {
        break;
      }
    }
    if (!ndigits[0] || t->p >= t->end || *t->p != '}')
      return tr_fail(t, "'{' must start a quantifier {n}, {n,} or {n,m} (or be escaped)");
    t->p++;
    if (comma && ndigits[1] && n[1] < n[0]) return tr_fail(t, "quantifier {%u,%u} is out of order", n[0], n[1]);
    if (!comma)
      cf_buf_printf(t->out, "{%u}", n[0]);
    else if (!ndigits[1])
      cf_buf_printf(t->out, "{%u,}", n[0]);
    else
      cf_buf_printf(t->out, "{%u,%u}", n[0], n[1]);
  }
  if (t->p < t->end && *t->p == '?') {
    cf_buf_putc(t->out, '?');
    t->p++;
  }
  return true;
}

/* An escape outside a character class, at the backslash. */
static bool tr_escape(struct rx_tr *t) {
  t->p++;
  if (t->p >= t->end) return tr_fail(t, "the pattern ends with '\\'");
  unsigned char c = (unsigned char)*t->p;
  int32_t single = single_escape(c);
  if (single >= 0) {
    t->p++;
    cf_buf_printf(t->out, "\\x{%X}", (unsigned)single);
    return true;
  }
  if (c >= '1' && c <= '9') {
    /* XPath: as many digits as still name an existing group. */
    uint64_t n = c - '0';
    t->p++;
    while (t->p < t->end && *t->p >= '0' && *t->p <= '9' &&
           n * 10 + (uint64_t)(*t->p - '0') <= t->ngroups)
      n = n * 10 + (uint64_t)(*t->p++ - '0');
    if (n > t->ngroups || !t->closed[n])
      return tr_fail(t, "back-reference \\%u to a group not closed before it", (unsigned)n);
    cf_buf_printf(t->out, "(?:\\g{%u})", (unsigned)n);
    return true;
  }
  cf_buf_putc(t->out, '[');
  int m = tr_multi_escape(t, t->out);
  if (m > 0) {
    cf_buf_putc(t->out, ']');
    return true;
  }
  if (m == 0) tr_fail(t, "invalid escape '\\%.*s'", (int)seq_len(c), t->p);
  return false;
}

/* Translates the whole pattern t->p..t->end into t->out. */
static bool tr_regex(struct rx_tr *t) {
  bool atom = false; /* the last item can take a quantifier */
  while (t->p < t->end) {
    unsigned char c = (unsigned char)*t->p;
    switch (c) {
    case '(':
      t->p++;
      if (t->p < t->end && *t->p == '?') {
        if (t->p + 1 >= t->end || t->p[1] != ':')
          return tr_fail(t, "only (?: ...) groups are allowed after '(?'");
        t->p += 2;
        cf_buf_puts(t->out, "(?:");
        t->open[t->nopen++] = 0;
      } else {
        cf_buf_putc(t->out, '(');
        t->open[t->nopen++] = ++t->ngroups;
      }
      atom = false;
      break;
    case ')':
      if (!t->nopen) return tr_fail(t, "unbalanced ')'");
      t->closed[t->open[--t->nopen]] = true;
      cf_buf_putc(t->out, ')');
      t->p++;
      atom = true;
      break;
    case '|':
      cf_buf_putc(t->out, '|');
      t->p++;
      atom = false;
      break;
    /* XPath anchors are atoms (they may even be quantified): wrap them. */
    case '^':
      cf_buf_puts(t->out, "(?:^)");
      t->p++;
      atom = true;
      break;
    case '$':
      cf_buf_puts(t->out, "(?:$)");
      t->p++;
      atom = true;
      break;
    case '.':
      cf_buf_puts(t->out, t->dotall ? "(?s:.)" : "[^\\n\\r]");
      t->p++;
      atom = true;
      break;
    case '?': case '*': case '+': case '{':
      if (!atom) return tr_fail(t, "quantifier '%c' does not follow anything it can repeat", c);
      if (!tr_quantifier(t)) return false;
      atom = false;
      break;
    case '}': case ']':
      return tr_fail(t, "unescaped '%c'", c);
    case '[':
      if (!tr_class(t, t->out, 0)) return false;
      atom = true;
      break;
    case '\\':
      if (!tr_escape(t)) return false;
      atom = true;
      break;
    default: {
      uint32_t cp;
      size_t n = cf__feel_utf8_decode(t->p, &cp);
      if (cp < 0x80 && !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')))
        cf_buf_printf(t->out, "\\x{%X}", (unsigned)cp);
      else
        cf_buf_append(t->out, t->p, n);
      t->p += n;
      atom = true;
    }
    }
  }
  if (t->nopen) return tr_fail(t, "unclosed '('");
  return true;
}

/*
 * The x flag removes whitespace from the pattern, except inside character
 * classes (F&O §5.6.2), even between a backslash and the escaped character.
 */
static void strip_space(const char *p, size_t len, struct cf_buf *out) {
  const char *end = p + len;
  unsigned depth = 0;
  while (p < end) {
    char c = *p;
    bool ws = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (ws && depth == 0) {
      p++;
      continue;
    }
    if (c == '\\') {
      cf_buf_putc(out, c);
      p++;
      while (depth == 0 && p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
      if (p < end) {
        size_t n = seq_len((unsigned char)*p);
        cf_buf_append(out, p, n);
        p += n;
      }
      continue;
    }
    if (c == '[') depth++;
    if (c == ']' && depth > 0) depth--;
    cf_buf_putc(out, c);
    p++;
  }
}

/* --------------------------------------------------- compiled patterns */

struct rx {
  pcre2_general_context *gctx;
  pcre2_compile_context *cctx;
  pcre2_match_context *mctx;
  pcre2_code *code;
  pcre2_match_data *md;
  uint32_t ngroups;
  bool literal; /* the q flag: the replacement is literal too */
};

static void *rx_malloc(PCRE2_SIZE size, void *data) {
  (void)data;
  return cf_malloc(size);
}

static void rx_free(void *p, void *data) {
  (void)data;
  cf_free(p);
}

static void rx_release(struct rx *rx) {
  pcre2_match_data_free(rx->md);
  pcre2_code_free(rx->code);
  pcre2_match_context_free(rx->mctx);
  pcre2_compile_context_free(rx->cctx);
  pcre2_general_context_free(rx->gctx);
  memset(rx, 0, sizeof *rx);
}

/*
 * Compiles an XPath pattern with XPath flags (NULL: none). CF_OK with rx
 * ready (release it with rx_release), CF_EINVAL when the pattern or the
 * flags are invalid (warned, rx empty), or CF_ENOMEM.
 */
static int rx_compile(struct cf_feel_eval *ev, const char *fname, const struct cf_feel_str *pattern,
                      const struct cf_feel_str *flags, struct rx *rx) {
  struct cf_buf stripped, out;
  cf_buf_init(&stripped);
  cf_buf_init(&out);
  struct rx_tr t = {0};
  bool fs = false, fm = false, fi = false, fx = false, fq = false;
  int rc = CF_EINVAL;
  memset(rx, 0, sizeof *rx);

  for (uint32_t i = 0; flags && i < flags->len; i++) {
    switch (flags->data[i]) {
    case 's': fs = true; break;
    case 'm': fm = true; break;
    case 'i': fi = true; break;
    case 'x': fx = true; break;
    case 'q': fq = true; break;
    default:
      cf__feel_warn(ev, "%s: invalid regular expression flags \"%.*s%s\" (allowed: s, m, i, x, q)",
                    fname, QUOTE(flags));
      goto out;
    }
  }

  if (fq) {
    /* Literal: every character stands for itself. */
    for (uint32_t i = 0; i < pattern->len;) {
      unsigned char c = (unsigned char)pattern->data[i];
      size_t n = seq_len(c);
      if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        cf_buf_printf(&out, "\\x{%X}", c);
      else
        cf_buf_append(&out, pattern->data + i, n);
      i += (uint32_t)n;
    }
  } else {
    const char *src = pattern->data;
    size_t len = pattern->len;
    if (fx) {
      strip_space(src, len, &stripped);
      if (stripped.oom) goto nomem;
      src = stripped.data;
      len = stripped.len;
    }
    t.p = src;
    t.end = src + len;
    t.out = &out;
    t.dotall = fs;
    /* Groups and open parentheses are at most one per byte of pattern. */
    t.open = cf_malloc((len + 1) * sizeof *t.open);
    t.closed = cf_calloc(len + 1, sizeof *t.closed);
    if (!t.open || !t.closed) goto nomem;
    if (!tr_regex(&t)) {
      if (out.oom) goto nomem;
      cf__feel_warn(ev, "%s: invalid regular expression \"%.*s%s\": %s", fname, QUOTE(pattern),
                    t.err);
      goto out;
    }
  }
  if (out.oom) goto nomem;

  rx->gctx = pcre2_general_context_create(rx_malloc, rx_free, NULL);
  if (!rx->gctx) goto nomem;
  rx->cctx = pcre2_compile_context_create(rx->gctx);
  if (!rx->cctx) goto nomem;
  pcre2_set_newline(rx->cctx, PCRE2_NEWLINE_LF);
  uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK | PCRE2_NEVER_BACKSLASH_C;
  if (fi) opts |= PCRE2_CASELESS;
  if (fm && !fq)
    opts |= PCRE2_MULTILINE;
  else
    opts |= PCRE2_DOLLAR_ENDONLY; /* without m, $ is the very end, not before a final \n */
  int err;
  PCRE2_SIZE erroff;
  rx->code = pcre2_compile((PCRE2_SPTR)out.data, out.len, opts, &err, &erroff, rx->cctx);
  if (!rx->code) {
    if (err == PCRE2_ERROR_HEAP_FAILED) goto nomem;
    PCRE2_UCHAR msg[120];
    if (pcre2_get_error_message(err, msg, sizeof msg) < 0) strcpy((char *)msg, "unknown error");
    cf__feel_warn(ev, "%s: invalid regular expression \"%.*s%s\": %s", fname, QUOTE(pattern),
                  (const char *)msg);
    goto out;
  }
  pcre2_pattern_info(rx->code, PCRE2_INFO_CAPTURECOUNT, &rx->ngroups);
  rx->md = pcre2_match_data_create_from_pattern(rx->code, rx->gctx);
  rx->mctx = pcre2_match_context_create(rx->gctx);
  if (!rx->md || !rx->mctx) goto nomem;
  pcre2_set_match_limit(rx->mctx, RX_MATCH_LIMIT);
  pcre2_set_depth_limit(rx->mctx, RX_DEPTH_LIMIT);
  pcre2_set_heap_limit(rx->mctx, RX_HEAP_LIMIT_KIB);
  rx->literal = fq;
  rc = CF_OK;
  goto out;
nomem:
  rc = CF_ENOMEM;
out:
  if (rc != CF_OK) rx_release(rx);
  cf_free(t.open);
  cf_free(t.closed);
  cf_buf_release(&stripped);
  cf_buf_release(&out);
  return rc;
}

enum { RX_NOMEM = -2, RX_FAIL = -1, RX_NONE = 0, RX_MATCH = 1 };

/*
 * Searches s (len bytes) from byte offset off. RX_MATCH with the match in
 * rx->md, RX_NONE, RX_FAIL (a limit was hit; warned) or RX_NOMEM.
 */
static int rx_search(struct cf_feel_eval *ev, const char *fname, struct rx *rx, const char *s,
                     size_t len, size_t off) {
  int rc = pcre2_match(rx->code, (PCRE2_SPTR)s, len, off, PCRE2_NO_UTF_CHECK, rx->md, rx->mctx);
  if (rc >= 0) return RX_MATCH;
  if (rc == PCRE2_ERROR_NOMATCH) return RX_NONE;
  if (rc == PCRE2_ERROR_NOMEMORY) return RX_NOMEM;
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT) {
    cf__feel_warn(ev, "%s: the regular expression needs too much backtracking on this input", fname);
  } else {
    PCRE2_UCHAR msg[120];
    if (pcre2_get_error_message(rc, msg, sizeof msg) < 0) strcpy((char *)msg, "unknown error");
    cf__feel_warn(ev, "%s: regular expression match failed: %s", fname, (const char *)msg);
  }
  return RX_FAIL;
}

/*
 * Checks an XPath replacement string: a backslash must escape '\' or '$',
 * and '$' must start a group reference $N. NULL if valid, else why not.
 */
static const char *check_replacement(const struct cf_feel_str *r) {
  for (uint32_t i = 0; i < r->len; i++) {
    char c = r->data[i];
    if (c == '\\') {
      if (i + 1 >= r->len || (r->data[i + 1] != '\\' && r->data[i + 1] != '$'))
        return "'\\' must be followed by '\\' or '$'";
      i++;
    } else if (c == '$') {
      if (i + 1 >= r->len || r->data[i + 1] < '0' || r->data[i + 1] > '9')
        return "'$' must be followed by a group number";
    }
  }
  return NULL;
}

/* Appends the (checked) replacement for the match in rx->md. */
static void put_replacement(struct cf_buf *b, const struct cf_feel_str *r, const struct rx *rx,
                            const char *subject) {
  if (rx->literal) {
    cf_buf_append(b, r->data, r->len);
    return;
  }
  const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rx->md);
  for (uint32_t i = 0; i < r->len; i++) {
    char c = r->data[i];
    if (c == '\\') {
      cf_buf_putc(b, r->data[++i]);
    } else if (c == '$') {
      /* $N takes as many digits as still name a group; $N past the last group is empty. */
      uint64_t n = (uint64_t)(r->data[++i] - '0');
      while (i + 1 < r->len && r->data[i + 1] >= '0' && r->data[i + 1] <= '9' &&
             n * 10 + (uint64_t)(r->data[i + 1] - '0') <= rx->ngroups)
        n = n * 10 + (uint64_t)(r->data[++i] - '0');
      if (n <= rx->ngroups && ov[2 * n] != PCRE2_UNSET)
        cf_buf_append(b, subject + ov[2 * n], ov[2 * n + 1] - ov[2 * n]);
    } else {
      cf_buf_putc(b, c);
    }
  }
}

/*
 * Walks the matches of rx in s from left to right, as Java's Matcher.find
 * does: after an empty match the search resumes one character further on.
 * Calls each(match start, match end, arg) for every match; each returns
 * CF_OK or CF_ENOMEM. Returns RX_NONE when done, RX_FAIL or RX_NOMEM.
 */
typedef int (*match_fn)(size_t start, size_t end, void *arg);
static int rx_each(struct cf_feel_eval *ev, const char *fname, struct rx *rx, const char *s,
                   size_t len, match_fn each, void *arg) {
  size_t off = 0;
  while (off <= len) {
    int r = rx_search(ev, fname, rx, s, len, off);
    if (r != RX_MATCH) return r;
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rx->md);
    size_t start = ov[0], end = ov[1];
    /* \K in a look-behind can make end < start; PCRE2 allows it, we never emit \K. */
    if (end < start) end = start;
    if (each(start, end, arg) != CF_OK) return RX_NOMEM;
    if (end > start)
      off = end;
    else if (end < len)
      off = end + seq_len((unsigned char)s[end]);
    else
      break;
  }
  return RX_NONE;
}

/* ----------------------------------------------------------- functions */

/*
 * substring(string, start position, length?): start counts from 1, or from
 * the end when negative (-1 is the last character); fractional positions
 * and lengths are truncated. Start 0 gives "" (as in Camunda); a start
 * beyond either end or a negative length gives null.
 */
static int bi_substring(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                        struct cf_feel_value *out) {
  static const char fn[] = "substring";
  cf_feel_set_null(out);
  if (!need_string(ev, fn, "string", &args[0]) || !need_number(ev, fn, "start position", &args[1]))
    return CF_OK;
  if (nargs > 2 && !need_number(ev, fn, "length", &args[2])) return CF_OK;
  const struct cf_feel_str *s = args[0].u.string;
  int64_t n = s->ncp;
  int64_t start = trunc_int(&args[1].u.number);
  int64_t from = start > 0 ? start - 1 : n + start;
  if (from < 0 || from > n) {
    cf__feel_warn(ev, "%s: start position %lld is outside a string of length %lld", fn,
                  (long long)start, (long long)n);
    return CF_OK;
  }
  int64_t to = n;
  if (nargs > 2) {
    int64_t len = trunc_int(&args[2].u.number);
    if (len < 0) {
      cf__feel_warn(ev, "%s: length %lld is negative", fn, (long long)len);
      return CF_OK;
    }
    if (from + len < n) to = from + len;
  }
  size_t b0 = cp_offset(s, from), i = b0;
  for (int64_t k = from; k < to && i < s->len; k++) i += seq_len((unsigned char)s->data[i]);
  return set_str(out, s->data + b0, i - b0);
}

static int bi_string_length(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (need_string(ev, "string length", "string", &args[0]))
    cf_feel_set_int(out, args[0].u.string->ncp);
  return CF_OK;
}

static int change_case(struct cf_feel_eval *ev, const char *fn, const struct cf_feel_value *arg,
                       bool upper, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!need_string(ev, fn, "string", arg)) return CF_OK;
  struct cf_buf b;
  cf_buf_init(&b);
  map_case(&b, arg->u.string, upper);
  int rc = set_buf(out, &b);
  cf_buf_release(&b);
  return rc;
}

static int bi_upper_case(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                         struct cf_feel_value *out) {
  return change_case(ev, "upper case", &args[0], true, out);
}

static int bi_lower_case(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                         struct cf_feel_value *out) {
  return change_case(ev, "lower case", &args[0], false, out);
}

/* The byte offset of the first occurrence of m in s, or -1. */
static int64_t find_bytes(const struct cf_feel_str *s, const struct cf_feel_str *m) {
  if (m->len == 0) return 0;
  if (m->len > s->len) return -1;
  const char *hit = memmem(s->data, s->len, m->data, m->len);
  return hit ? hit - s->data : -1;
}

/* Both arguments strings (warned otherwise); the usual (string, match) pair. */
static bool two_strings(struct cf_feel_eval *ev, const char *fn, const struct cf_feel_value *args) {
  return need_string(ev, fn, "string", &args[0]) && need_string(ev, fn, "match", &args[1]);
}

static int bi_substring_before(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                               size_t nargs, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!two_strings(ev, "substring before", args)) return CF_OK;
  int64_t at = find_bytes(args[0].u.string, args[1].u.string);
  return set_str(out, args[0].u.string->data, at > 0 ? (size_t)at : 0);
}

static int bi_substring_after(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                              size_t nargs, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!two_strings(ev, "substring after", args)) return CF_OK;
  const struct cf_feel_str *s = args[0].u.string;
  int64_t at = find_bytes(s, args[1].u.string);
  if (at < 0) return set_str(out, "", 0);
  size_t from = (size_t)at + args[1].u.string->len;
  return set_str(out, s->data + from, s->len - from);
}

static int bi_contains(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                       struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (two_strings(ev, "contains", args))
    cf_feel_set_bool(out, find_bytes(args[0].u.string, args[1].u.string) >= 0);
  return CF_OK;
}

static int bi_starts_with(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                          struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!two_strings(ev, "starts with", args)) return CF_OK;
  const struct cf_feel_str *s = args[0].u.string, *m = args[1].u.string;
  cf_feel_set_bool(out, m->len <= s->len && !memcmp(s->data, m->data, m->len));
  return CF_OK;
}

static int bi_ends_with(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                        struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!two_strings(ev, "ends with", args)) return CF_OK;
  const struct cf_feel_str *s = args[0].u.string, *m = args[1].u.string;
  cf_feel_set_bool(out, m->len <= s->len && !memcmp(s->data + s->len - m->len, m->data, m->len));
  return CF_OK;
}

/* matches(input, pattern, flags?): does the pattern match anywhere in input? */
static int bi_matches(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  static const char fn[] = "matches";
  const struct cf_feel_str *flags;
  struct rx rx;
  cf_feel_set_null(out);
  if (!need_string(ev, fn, "input", &args[0]) || !need_string(ev, fn, "pattern", &args[1]) ||
      !opt_string(ev, fn, "flags", args, nargs, 2, &flags))
    return CF_OK;
  int rc = rx_compile(ev, fn, args[1].u.string, flags, &rx);
  if (rc != CF_OK) return rc == CF_ENOMEM ? rc : CF_OK;
  const struct cf_feel_str *s = args[0].u.string;
  int r = rx_search(ev, fn, &rx, s->data, s->len, 0);
  rx_release(&rx);
  if (r == RX_NOMEM) return CF_ENOMEM;
  if (r != RX_FAIL) cf_feel_set_bool(out, r == RX_MATCH);
  return CF_OK;
}

struct replace_state {
  struct cf_buf buf;
  const struct cf_feel_str *input, *replacement;
  const struct rx *rx;
  size_t last; /* end of the previous match */
};

static int replace_one(size_t start, size_t end, void *arg) {
  struct replace_state *st = arg;
  cf_buf_append(&st->buf, st->input->data + st->last, start - st->last);
  put_replacement(&st->buf, st->replacement, st->rx, st->input->data);
  st->last = end;
  return st->buf.oom ? CF_ENOMEM : CF_OK;
}

/*
 * replace(input, pattern, replacement, flags?): replaces every match. The
 * replacement refers to groups as $N ($0 is the whole match); \$ and \\ are
 * a literal $ and \. With the q flag both pattern and replacement are literal.
 */
static int bi_replace(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  static const char fn[] = "replace";
  const struct cf_feel_str *flags;
  struct rx rx;
  cf_feel_set_null(out);
  if (!need_string(ev, fn, "input", &args[0]) || !need_string(ev, fn, "pattern", &args[1]) ||
      !need_string(ev, fn, "replacement", &args[2]) ||
      !opt_string(ev, fn, "flags", args, nargs, 3, &flags))
    return CF_OK;
  int rc = rx_compile(ev, fn, args[1].u.string, flags, &rx);
  if (rc != CF_OK) return rc == CF_ENOMEM ? rc : CF_OK;
  struct replace_state st = {.input = args[0].u.string, .replacement = args[2].u.string, .rx = &rx};
  cf_buf_init(&st.buf);
  const char *bad = rx.literal ? NULL : check_replacement(st.replacement);
  if (bad) {
    cf__feel_warn(ev, "%s: invalid replacement \"%.*s%s\": %s", fn, QUOTE(st.replacement), bad);
    goto out;
  }
  int r = rx_each(ev, fn, &rx, st.input->data, st.input->len, replace_one, &st);
  if (r == RX_NOMEM) {
    rc = CF_ENOMEM;
    goto out;
  }
  if (r == RX_FAIL) goto out;
  cf_buf_append(&st.buf, st.input->data + st.last, st.input->len - st.last);
  rc = set_buf(out, &st.buf);
out:
  rx_release(&rx);
  cf_buf_release(&st.buf);
  return rc;
}

struct pieces_state {
  struct cf_feel_value list;
  const char *s;
  size_t last;
  bool split; /* split() collects what lies between matches, extract() the matches */
};

static int push_piece(struct cf_feel_value *list, const char *s, size_t len) {
  struct cf_feel_value item = {0};
  int rc = set_str(&item, s, len);
  if (rc != CF_OK) return rc;
  return cf_feel_list_push(list, &item);
}

static int piece_one(size_t start, size_t end, void *arg) {
  struct pieces_state *st = arg;
  if (!st->split) return push_piece(&st->list, st->s + start, end - start);
  /* Like Java's split: an empty match at the very start yields no leading "". */
  if (end == 0) return CF_OK;
  int rc = push_piece(&st->list, st->s + st->last, start - st->last);
  st->last = end;
  return rc;
}

/* split(string, delimiter) and extract(input, pattern). */
static int split_or_extract(struct cf_feel_eval *ev, const char *fn, const char *p0,
                            const char *p1, const struct cf_feel_value *args, bool split,
                            struct cf_feel_value *out) {
  struct rx rx;
  cf_feel_set_null(out);
  if (!need_string(ev, fn, p0, &args[0]) || !need_string(ev, fn, p1, &args[1])) return CF_OK;
  int rc = rx_compile(ev, fn, args[1].u.string, NULL, &rx);
  if (rc != CF_OK) return rc == CF_ENOMEM ? rc : CF_OK;
  const struct cf_feel_str *s = args[0].u.string;
  struct pieces_state st = {.s = s->data, .split = split};
  rc = cf_feel_list_new(&st.list, 4);
  if (rc != CF_OK) goto out;
  int r = rx_each(ev, fn, &rx, s->data, s->len, piece_one, &st);
  if (r == RX_NOMEM) {
    rc = CF_ENOMEM;
    goto out;
  }
  if (r == RX_FAIL) goto out;
  if (split && (rc = push_piece(&st.list, s->data + st.last, s->len - st.last)) != CF_OK) goto out;
  cf_feel_value_move(out, &st.list);
out:
  cf_feel_value_release(&st.list);
  rx_release(&rx);
  return rc;
}

/* split(string, delimiter): the delimiter is a pattern; empty pieces are kept. */
static int bi_split(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                    struct cf_feel_value *out) {
  return split_or_extract(ev, "split", "string", "delimiter", args, true, out);
}

/* extract(input, pattern): every match, in order (Camunda). */
static int bi_extract(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  return split_or_extract(ev, "extract", "input", "pattern", args, false, out);
}

/*
 * string join(list, delimiter?, prefix?, suffix?): null items are skipped;
 * any other non-string item makes the result null. A single string stands
 * for the list of it (DMN's singleton-list conversion).
 */
static int bi_string_join(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                          struct cf_feel_value *out) {
  static const char fn[] = "string join";
  const struct cf_feel_str *delim, *prefix, *suffix;
  cf_feel_set_null(out);
  const struct cf_feel_value *items = &args[0];
  size_t n = 1;
  if (args[0].type == CF_FEEL_LIST) {
    items = args[0].u.list->items;
    n = args[0].u.list->len;
  } else if (args[0].type != CF_FEEL_STRING) {
    if (args[0].type == CF_FEEL_NULL)
      cf__feel_warn(ev, "%s: list is null", fn);
    else
      cf__feel_warn(ev, "%s: list must be a list of strings, not %s", fn,
                    cf_feel_type_name((enum cf_feel_type)args[0].type));
    return CF_OK;
  }
  if (!opt_string(ev, fn, "delimiter", args, nargs, 1, &delim) ||
      !opt_string(ev, fn, "prefix", args, nargs, 2, &prefix) ||
      !opt_string(ev, fn, "suffix", args, nargs, 3, &suffix))
    return CF_OK;
  for (size_t i = 0; i < n; i++)
    if (items[i].type != CF_FEEL_STRING && items[i].type != CF_FEEL_NULL) {
      cf__feel_warn(ev, "%s: item %zu is a %s, not a string", fn, i + 1,
                    cf_feel_type_name((enum cf_feel_type)items[i].type));
      return CF_OK;
    }
  struct cf_buf b;
  cf_buf_init(&b);
  if (prefix) cf_buf_append(&b, prefix->data, prefix->len);
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if (items[i].type != CF_FEEL_STRING) continue;
    if (!first && delim) cf_buf_append(&b, delim->data, delim->len);
    cf_buf_append(&b, items[i].u.string->data, items[i].u.string->len);
    first = false;
  }
  if (suffix) cf_buf_append(&b, suffix->data, suffix->len);
  int rc = set_buf(out, &b);
  cf_buf_release(&b);
  return rc;
}

/* trim(string): without leading and trailing whitespace (Java's Character.isWhitespace). */
static int bi_trim(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                   struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!need_string(ev, "trim", "string", &args[0])) return CF_OK;
  const struct cf_feel_str *s = args[0].u.string;
  size_t from = 0, to = 0; /* to: end of the last non-blank character */
  bool seen = false;
  for (size_t i = 0; i < s->len;) {
    uint32_t cp;
    size_t n = cf__feel_utf8_decode(s->data + i, &cp);
    if (!is_space(cp)) {
      if (!seen) from = i;
      seen = true;
      to = i + n;
    }
    i += n;
  }
  return set_str(out, s->data + from, seen ? to - from : 0);
}

static int bi_is_blank(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                       struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!need_string(ev, "is blank", "string", &args[0])) return CF_OK;
  const struct cf_feel_str *s = args[0].u.string;
  bool blank = true;
  for (size_t i = 0; i < s->len && blank;) {
    uint32_t cp;
    i += cf__feel_utf8_decode(s->data + i, &cp);
    blank = is_space(cp);
  }
  cf_feel_set_bool(out, blank);
  return CF_OK;
}

/*
 * uuid(): a random (version 4) UUID. Camunda generates version 7 ones, whose
 * time part would need the clock; these need only the kernel's randomness.
 */
static int bi_uuid(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                   struct cf_feel_value *out) {
  uint8_t r[16];
  size_t got = 0;
  cf_feel_set_null(out);
  while (got < sizeof r) {
    ssize_t n = getrandom(r + got, sizeof r - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      cf__feel_warn(ev, "uuid: no randomness available (%s)", strerror(errno));
      return CF_OK;
    }
    got += (size_t)n;
  }
  r[6] = (uint8_t)((r[6] & 0x0F) | 0x40); /* version 4 */
  r[8] = (uint8_t)((r[8] & 0x3F) | 0x80); /* RFC 4122 variant */
  char text[37];
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (size_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text[k++] = '-';
    text[k++] = hex[r[i] >> 4];
    text[k++] = hex[r[i] & 15];
  }
  text[k] = '\0';
  return set_str(out, text, k);
}

/* to base64(value): the standard, padded Base64 of the string's UTF-8 bytes. */
static int bi_to_base64(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                        struct cf_feel_value *out) {
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  cf_feel_set_null(out);
  if (!need_string(ev, "to base64", "value", &args[0])) return CF_OK;
  const unsigned char *s = (const unsigned char *)args[0].u.string->data;
  size_t len = args[0].u.string->len;
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_reserve(&b, (len + 2) / 3 * 4);
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16;
    if (i + 1 < len) v |= (uint32_t)s[i + 1] << 8;
    if (i + 2 < len) v |= s[i + 2];
    char q[4] = {abc[v >> 18], abc[(v >> 12) & 63], i + 1 < len ? abc[(v >> 6) & 63] : '=',
                 i + 2 < len ? abc[v & 63] : '='};
    cf_buf_append(&b, q, 4);
  }
  int rc = set_buf(out, &b);
  cf_buf_release(&b);
  return rc;
}

/* ---------------------------------------------------------------- table */

const struct cf__feel_builtin cf__feel_builtins_string[] = {
    {"substring", {"string", "start position", "length"}, 2, 3, bi_substring},
    {"string length", {"string"}, 1, 1, bi_string_length},
    {"upper case", {"string"}, 1, 1, bi_upper_case},
    {"lower case", {"string"}, 1, 1, bi_lower_case},
    {"substring before", {"string", "match"}, 2, 2, bi_substring_before},
    {"substring after", {"string", "match"}, 2, 2, bi_substring_after},
    {"replace", {"input", "pattern", "replacement", "flags"}, 3, 4, bi_replace},
    {"contains", {"string", "match"}, 2, 2, bi_contains},
    {"starts with", {"string", "match"}, 2, 2, bi_starts_with},
    {"ends with", {"string", "match"}, 2, 2, bi_ends_with},
    {"matches", {"input", "pattern", "flags"}, 2, 3, bi_matches},
    {"split", {"string", "delimiter"}, 2, 2, bi_split},
    /* Three arguments are no overload: DMN's string join takes 1, 2 or 4 (Camunda). */
    {"string join", {"list", "delimiter"}, 1, 2, bi_string_join},
    {"string join", {"list", "delimiter", "prefix", "suffix"}, 4, 4, bi_string_join},
    {"extract", {"input", "pattern"}, 2, 2, bi_extract},
    {"trim", {"string"}, 1, 1, bi_trim},
    {"is blank", {"string"}, 1, 1, bi_is_blank},
    {"uuid", {NULL}, 0, 0, bi_uuid},
    {"to base64", {"value"}, 1, 1, bi_to_base64},
    {0},
};

// libjpeg-turbo's libjpeg API (jpeglib.h) from Debian's libjpeg62-turbo-dev. Used only by the C
// wrapper target CComRecImage. jpeglib.h needs FILE and size_t declared before it.
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>

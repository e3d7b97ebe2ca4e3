// libpng 1.6 from Debian's libpng-dev. Used only by the C wrapper target CComRecImage.
#include <png.h>

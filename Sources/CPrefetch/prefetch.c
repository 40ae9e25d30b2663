// The module is the header's one inline function; SwiftPM needs a source file to build the target.
#include "CPrefetch.h"

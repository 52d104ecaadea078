// Handler's default events that need a whole Conn.
#include "weft/handler.hpp"

#include "weft/conn.hpp"

namespace weft {

void Handler::on_stop(Conn& c) {
  c.close();
}

}  // namespace weft

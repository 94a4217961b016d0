/* ledger_internal: the ledger's SQLite connection, for the ledger's own modules that keep
 * their tables apart (ledger_sbom.c). Nothing else touches SQL. */
#ifndef UPT_BUNDLER_LEDGER_INTERNAL_H
#define UPT_BUNDLER_LEDGER_INTERNAL_H

#include <sqlite3.h>

#include "ledger.h"

sqlite3 *ledger_sqlite(ledger *l);

#endif

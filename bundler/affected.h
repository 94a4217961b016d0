/* affected: `uptane-bundle reports affected` (docs/sbom.md), dispatched by cmd_reports.c. */
#ifndef UPT_BUNDLER_AFFECTED_H
#define UPT_BUNDLER_AFFECTED_H

/* argv[0] is "affected". Returns the exit status: 0 (whether or not devices are affected),
 * 2 usage or input error, 1 internal or ledger error. */
int reports_affected(int argc, char **argv);

#endif

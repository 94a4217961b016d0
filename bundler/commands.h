/* The uptane-bundle subcommands: one file each; main.c dispatches. Each takes the arguments
 * after the command word (argv[0] is the command name) and returns the exit status. */
#ifndef UPT_BUNDLER_COMMANDS_H
#define UPT_BUNDLER_COMMANDS_H

int cmd_key(int argc, char **argv);	  /* key generate NAME */
int cmd_canonical(int argc, char **argv); /* canonical FILE.json */
int cmd_init(int argc, char **argv);
int cmd_delegate(int argc, char **argv);
int cmd_target(int argc, char **argv); /* target add */
int cmd_assign(int argc, char **argv);
int cmd_status(int argc, char **argv); /* what a workspace holds */
int cmd_create(int argc, char **argv);
int cmd_rotate(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_devices(int argc, char **argv); /* devices add|import|list */
int cmd_reports(int argc, char **argv); /* reports ingest|show|affected */
int cmd_sbom(int argc, char **argv);	/* sbom import */

#endif

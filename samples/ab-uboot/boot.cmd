# U-Boot boot script for an uptane-offline `ab` ECU, bootcount style (docs/integration.md,
# "A/B bootloaders"). Build it with `mkimage -A arm64 -T script -C none -d boot.cmd boot.scr`.
#
# Variables (written by uptane-ab-uboot, read here):
#   boot_slot          A or B: the slot to boot (A when unset)
#   fallback_slot      the slot that ran before the update being tried
#   upgrade_available  1 while boot_slot is on trial; 0 once confirmed or after a fallback
#   bootcount          boots of the slot on trial so far
#   bootlimit          boots it may take without being confirmed (uptane-ab-uboot: 1)
#
# The rules, one boot:
#   1. upgrade_available=1: bootcount += 1; if bootcount > bootlimit, the slot on trial did not
#      confirm in time: boot_slot = fallback_slot, upgrade_available = 0, bootcount = 0.
#      Saved before the kernel starts, so a crash of the new system counts.
#   2. boot boot_slot, passing uptane.slot=<boot_slot> to the kernel (uptane-boot-check reads it).
# tests/cli/install_bootloaders.sh applies the same rules (uboot_boot) with fw_printenv and
# fw_setenv to a file-backed environment: change both together.
#
# U-Boot's own bootcount (CONFIG_BOOTCOUNT_ENV with altbootcmd) counts in the same variables;
# with this script as bootcmd, leave CONFIG_BOOTCOUNT_LIMIT off so only one of them counts.
# Adjust the partitions and load addresses to the board.

test -n "${boot_slot}" || setenv boot_slot A
if test "${upgrade_available}" = 1; then
	# setexpr works in hex: the same as decimal for the small counts used here
	setexpr bootcount ${bootcount} + 1
	if test ${bootcount} -gt ${bootlimit}; then
		echo "slot ${boot_slot} was not confirmed: falling back to slot ${fallback_slot}"
		setenv boot_slot ${fallback_slot}
		setenv upgrade_available 0
		setenv bootcount 0
	fi
	saveenv
fi

if test "${boot_slot}" = B; then
	setenv rootpart 3
else
	setenv rootpart 2
fi
setenv bootargs "${bootargs} root=/dev/mmcblk0p${rootpart} rootwait ro uptane.slot=${boot_slot}"
load mmc 0:${rootpart} ${kernel_addr_r} /boot/Image
load mmc 0:${rootpart} ${fdt_addr_r} /boot/board.dtb
booti ${kernel_addr_r} - ${fdt_addr_r}

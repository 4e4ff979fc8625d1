/* The one piece of common/nl.h that is not inline: the slot its error callback
 * fills, shared by every file of a program (no libnl needed to define it). */
__thread int vc_nl_kernel_errno;

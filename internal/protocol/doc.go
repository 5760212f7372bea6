// Package protocol defines what the host and the guest agent exchange: the Job the host packs
// into the initramfs at JobPath, and the Events the agent sends back as JSON lines over the
// virtio-serial port named ControlPort.
//
// A job that succeeded ends with an EventDone. Its absence means the job failed (the agent
// reported an error, panicked, hung, or the guest kernel died), never a partial success: the
// host must not use a Result from a channel that did not end with "done".
//
// The package has no OS-specific code of its own; the host imports it as well as the agent.
package protocol

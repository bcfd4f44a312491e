// Package joblabel names the service labels (deploy.labels) that mark a
// service as a podtemplate job. The compiler writes them; the deploy, run and
// jobs commands read them back from a running stack, so they are a public,
// stable contract: change them only with a migration note.
package joblabel

const (
	// Prefix is the namespace every podtemplate service label lives under.
	Prefix = "io.podtemplate."
	// Job is "true" on every job service.
	Job = Prefix + "job"
	// Name is the job's name as written in the stack file (without the
	// stack namespace prefix Swarm adds to service names).
	Name = Prefix + "job.name"
	// Mode is restart-none, replicated-job or global-job.
	Mode = Prefix + "job.mode"
	// Completions is how many tasks must finish successfully.
	Completions = Prefix + "job.completions"
	// Attempts is how many tries each task gets.
	Attempts = Prefix + "job.attempts"
	// Timeout is how long deploy, run and jobs wait wait for the job, as a
	// Go duration ("10m"); absent means no timeout.
	Timeout = Prefix + "job.timeout"
	// Hash is the hex SHA-256 of the job's rendered service definition
	// (without this label). An unchanged job keeps its hash across deploys,
	// so a re-deploy is not mistaken for a new run.
	Hash = Prefix + "job.hash"
	// Schedule is the cron expression of a scheduled job, if any.
	Schedule = Prefix + "job.schedule"
	// Stage is pre-deploy or post-deploy for a job that podtemplate
	// deploy runs before or after the rest of the stack; absent for a
	// job deployed with the rest.
	Stage = Prefix + "job.stage"
	// PodMain names the main component of a job that is also a pod. The
	// podlike controller always exits 0 and reports how its components
	// ended in its log ("Exited: <component> Status: <code>"); the job's
	// exit status is this component's.
	PodMain = Prefix + "job.pod.main"
)

// Job modes: the values of the Mode label and of x-jobs mode.
const (
	ModeRestartNone   = "restart-none"
	ModeReplicatedJob = "replicated-job"
	ModeGlobalJob     = "global-job"
)

// Job stages: the values of the Stage label and of x-jobs stage.
const (
	StagePreDeploy  = "pre-deploy"
	StagePostDeploy = "post-deploy"
)

// Labels crazy-max/swarm-cronjob reads, which the compiler writes on a
// scheduled job.
const (
	CronEnable      = "swarm.cronjob.enable"
	CronSchedule    = "swarm.cronjob.schedule"
	CronSkipRunning = "swarm.cronjob.skip-running"
	CronReplicas    = "swarm.cronjob.replicas"
)

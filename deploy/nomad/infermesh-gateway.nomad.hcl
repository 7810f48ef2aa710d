# The infermesh gateway: the HTTP entry point for prediction clients, several instances behind
# whatever load balancer reads the Consul catalog (service `infermesh-gateway`, check /readyz).
#
#   nomad var put nomad/jobs/infermesh-gateway \
#     feedback_keys="k1:$(openssl rand -hex 32)" admin_token="$(openssl rand -hex 32)"
#   nomad job run -var kafka_brokers=kafka-1:9092,kafka-2:9092 deploy/nomad/infermesh-gateway.nomad.hcl
#
# Secrets never appear in this file or in `nomad job inspect`: the feedback keys (HMAC of feedback
# tokens; every replica needs the same ones) and the admin token (PUT /v1/experiments) come from the
# Nomad Variable nomad/jobs/infermesh-gateway, which only this job's tasks may read, rendered into
# the task's environment by the template below. Vault works the same way: see deploy/nomad/README.md.
# Until the variable exists the task waits in its template step instead of starting with random keys.
#
# Gateways keep no state of their own but the events spool (events not yet acknowledged by Kafka,
# see ephemeral_disk below): model configs, experiments and worker pools come from Consul
# (KV and catalog) and are applied live, so adding a model or changing an experiment never needs a
# redeploy; a new gateway build rolls out one instance at a time and is reverted if it never
# becomes ready.

variable "count" {
  type        = number
  default     = 2
  description = "Gateway instances. Two or more, so a rolling update or a lost node never leaves clients without one."
}

variable "cpu" {
  type        = number
  default     = 1000
  description = "CPU reserved per gateway, MHz: a gateway is CPU-bound (JSON, enrichment, gRPC calls)."
}

variable "memory" {
  type        = number
  default     = 512
  description = "Memory reserved per gateway, MiB."
}

variable "infermesh_command" {
  type        = list(string)
  default     = ["infermesh"]
  description = "Program and leading arguments that start the infermesh CLI on the client node, e.g. [\"node\", \"/opt/infermesh/packages/cli/bin/infermesh.mjs\"]."
}

variable "consul_address" {
  type        = string
  default     = "http://127.0.0.1:8500"
  description = "HTTP address of the Consul agent the gateways read configs and the worker catalog from: the node's local agent by default."
}

variable "kv_prefix" {
  type        = string
  default     = "infermesh/"
  description = "Consul KV prefix of the registry (the same for gateways, workers, aggregator and CLI)."
}

variable "experiment_records" {
  type        = string
  default     = "registry"
  description = "Where experiments get their traffic shares: registry (published by the infermesh-aggregator job; every replica routes alike) or local (each gateway counts only its own traffic: one instance, or fixed-weight experiments only)."
}

variable "kafka_brokers" {
  type        = string
  default     = ""
  description = "Kafka bootstrap servers, host:port,host:port, the gateways publish prediction and feedback events to (what the infermesh-aggregator job counts). Empty: events go to NDJSON files in the task directory, and only experiment_records = local makes sense."
}

variable "events_topic_prefix" {
  type        = string
  default     = "infermesh."
  description = "Prefix of the event topics (<prefix>predictions, <prefix>feedback): the same on the gateways, workers and aggregator."
}

variable "spool_max_mb" {
  type        = number
  default     = 1024
  description = "Largest events spool per gateway, MiB: how long a Kafka outage the gateways ride out without dropping events (about 15 minutes at 1,000 predictions per second with feedback). The allocation's disk is sized to hold it."
}

variable "log_level" {
  type        = string
  default     = "info"
  description = "Lowest log level written: fatal, error, warn, info, debug, trace or silent."
}

variable "min_healthy_time" {
  type        = string
  default     = "10s"
  description = "How long a new instance's /readyz must pass before the rolling update moves on."
}

variable "healthy_deadline" {
  type        = string
  default     = "2m"
  description = "How long a new instance may take to become ready."
}

variable "progress_deadline" {
  type        = string
  default     = "10m"
  description = "How long a deployment may go without a new healthy instance before it fails (and is reverted)."
}

variable "shutdown_delay" {
  type        = string
  default     = "5s"
  description = "Time between leaving the Consul catalog and SIGTERM, so load balancers stop sending first."
}

job "infermesh-gateway" {
  type = "service"

  group "gateway" {
    count          = var.count
    shutdown_delay = var.shutdown_delay

    network {
      port "http" {}
    }

    # The events spool lives in alloc/data: a replacement allocation (a new build, a restart of the
    # node's agent) is placed on the same node when it can and takes the directory over with the
    # events Kafka has not acknowledged yet, which it then sends; a lost node loses its spool.
    ephemeral_disk {
      sticky  = true
      migrate = true
      size    = var.spool_max_mb + 128
    }

    # Rolling: one instance at a time, the next only once the new one is ready; a build that never
    # becomes ready fails the deployment and the last stable job version is put back.
    update {
      max_parallel      = 1
      health_check      = "checks"
      auto_revert       = true
      min_healthy_time  = var.min_healthy_time
      healthy_deadline  = var.healthy_deadline
      progress_deadline = var.progress_deadline
    }

    service {
      name     = "infermesh-gateway"
      provider = "consul"
      port     = "http"
      # The gateway serves Prometheus metrics on the same port (/metrics).
      tags = ["http", "prometheus"]
      check {
        name     = "readyz"
        type     = "http"
        path     = "/readyz"
        interval = "3s"
        timeout  = "2s"
        # One slow answer on a busy node must not take the instance out of the load balancer.
        failures_before_critical = 2
      }
    }

    task "gateway" {
      driver = "raw_exec"

      config {
        command = var.infermesh_command[0]
        args = concat(slice(var.infermesh_command, 1, length(var.infermesh_command)), [
          "gateway",
          "--consul", var.consul_address,
          "--kv-prefix", var.kv_prefix,
          "--experiment-records", var.experiment_records,
          "--log-level", var.log_level,
          "--host", "${NOMAD_IP_http}",
          "--port", "${NOMAD_PORT_http}",
          ], var.kafka_brokers == "" ? [] : [
          "--kafka-brokers", var.kafka_brokers,
          "--events-topic-prefix", var.events_topic_prefix,
          "--events-spool-dir", "${NOMAD_ALLOC_DIR}/data/spool",
          "--events-spool-max-bytes", format("%d", var.spool_max_mb * 1048576),
        ])
      }

      # INFERMESH_FEEDBACK_KEYS ("id:secret,id:secret", the first signs) and INFERMESH_ADMIN_TOKEN,
      # from the job's Nomad Variable (items feedback_keys and admin_token; a missing item leaves its
      # option unset: no admin token disables PUT /v1/experiments). To rotate feedback keys without
      # refusing a token during the restarts: put "old:…,new:…" (new accepted everywhere), then
      # "new:…,old:…" (new signs), wait out the token TTL (--feedback-ttl-seconds), then put "new:…"
      # (docs/operations.md). change_mode restarts the tasks, spread over splay.
      template {
        destination = "${NOMAD_SECRETS_DIR}/gateway.env"
        env         = true
        change_mode = "restart"
        splay       = "30s"
        data        = <<-EOT
          {{- with nomadVar (printf "nomad/jobs/%s" (env "NOMAD_JOB_ID")) }}
          {{- with .feedback_keys.Value }}
          INFERMESH_FEEDBACK_KEYS={{ toJSON . }}
          {{- end }}
          {{- with .admin_token.Value }}
          INFERMESH_ADMIN_TOKEN={{ toJSON . }}
          {{- end }}
          {{- end }}
        EOT
      }

      # SIGTERM: /readyz turns 503, open requests get --shutdown-grace-ms (10 s) to finish.
      kill_signal  = "SIGTERM"
      kill_timeout = "15s"

      resources {
        cpu    = var.cpu
        memory = var.memory
      }
    }
  }
}

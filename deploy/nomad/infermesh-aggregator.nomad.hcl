# The experiment aggregator (`infermesh aggregate`): a Kafka consumer group over the prediction and
# feedback topics that publishes each experiment's record (statistics, traffic shares, P(best)) under
# stats/ in Consul KV. Gateways started with --experiment-records registry route by those records,
# so every gateway replica splits traffic alike.
#
#   nomad job run -var kafka_brokers=kafka-1:9092,kafka-2:9092 deploy/nomad/infermesh-aggregator.nomad.hcl
#
# Instances share the topics' partitions through the consumer group; the consumed offsets are written
# with the records by compare-and-set, so a restarted or rebalanced instance resumes without counting
# an event twice. One instance is enough for most meshes; a second one only shortens the gap after a
# node loss (Nomad reschedules a lost single instance too).

variable "kafka_brokers" {
  type        = string
  description = "Kafka bootstrap servers, host:port,host:port."
}

variable "count" {
  type        = number
  default     = 1
  description = "Aggregator instances (members of one consumer group)."
}

variable "cpu" {
  type        = number
  default     = 500
  description = "CPU reserved per instance, MHz."
}

variable "memory" {
  type        = number
  default     = 256
  description = "Memory reserved per instance, MiB."
}

variable "infermesh_command" {
  type        = list(string)
  default     = ["infermesh"]
  description = "Program and leading arguments that start the infermesh CLI on the client node, e.g. [\"node\", \"/opt/infermesh/packages/cli/bin/infermesh.mjs\"]."
}

variable "consul_address" {
  type        = string
  default     = "http://127.0.0.1:8500"
  description = "HTTP address of the Consul agent the records are published to: the node's local agent by default."
}

variable "kv_prefix" {
  type        = string
  default     = "infermesh/"
  description = "Consul KV prefix of the registry (the same for gateways, workers, aggregator and CLI)."
}

variable "events_topic_prefix" {
  type        = string
  default     = "infermesh."
  description = "Prefix of the event topics: <prefix>predictions and <prefix>feedback are read. The same as the gateways'."
}

variable "group_id" {
  type        = string
  default     = "infermesh-aggregator"
  description = "Kafka consumer group of the instances; it also names their partition states in KV (aggregator/<group>/). Change it only to start counting over from the topics' beginning."
}

variable "publish_interval_ms" {
  type        = number
  default     = 2000
  description = "Milliseconds between two published records of an experiment: how fast gateways see new evidence, against KV write load."
}

job "infermesh-aggregator" {
  type = "service"

  group "aggregator" {
    count = var.count

    network {
      port "metrics" {}
    }

    update {
      max_parallel     = 1
      health_check     = "checks"
      auto_revert      = true
      min_healthy_time = "10s"
      healthy_deadline = "2m"
    }

    service {
      name     = "infermesh-aggregator"
      provider = "consul"
      port     = "metrics"
      tags     = ["prometheus"]
      check {
        name     = "healthz"
        type     = "http"
        path     = "/healthz"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "aggregator" {
      driver = "raw_exec"

      config {
        command = var.infermesh_command[0]
        args = concat(slice(var.infermesh_command, 1, length(var.infermesh_command)), [
          "aggregate",
          "--consul", var.consul_address,
          "--kv-prefix", var.kv_prefix,
          "--kafka-brokers", var.kafka_brokers,
          "--events-topic-prefix", var.events_topic_prefix,
          "--group-id", var.group_id,
          "--publish-interval-ms", format("%d", var.publish_interval_ms),
          "--metrics-host", "${NOMAD_IP_metrics}",
          "--metrics-port", "${NOMAD_PORT_metrics}",
        ])
      }

      # A Kafka behind SASL: put its credentials in the Nomad Variable nomad/jobs/infermesh-aggregator
      # (items sasl_mechanism, sasl_username, sasl_password); nothing is rendered while it does not exist.
      template {
        destination = "${NOMAD_SECRETS_DIR}/kafka.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{- if nomadVarExists (printf "nomad/jobs/%s" (env "NOMAD_JOB_ID")) }}
          {{- with nomadVar (printf "nomad/jobs/%s" (env "NOMAD_JOB_ID")) }}
          {{- with .sasl_mechanism.Value }}
          INFERMESH_KAFKA_SASL_MECHANISM={{ toJSON . }}
          {{- end }}
          {{- with .sasl_username.Value }}
          INFERMESH_KAFKA_SASL_USERNAME={{ toJSON . }}
          {{- end }}
          {{- with .sasl_password.Value }}
          INFERMESH_KAFKA_SASL_PASSWORD={{ toJSON . }}
          {{- end }}
          {{- end }}
          {{- end }}
        EOT
      }

      # Time after SIGTERM to publish a last record and leave the consumer group cleanly.
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      resources {
        cpu    = var.cpu
        memory = var.memory
      }
    }
  }
}

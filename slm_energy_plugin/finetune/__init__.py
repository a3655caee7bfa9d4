"""LoRA fine-tuning with measured training energy, and adapters run as models."""

from transformers import Trainer, TrainingArguments

from data import load_model_and_data

model, train_ds = load_model_and_data()

args = TrainingArguments(
    output_dir="out",
    learning_rate=5e-5,
    per_device_train_batch_size=16,
    gradient_accumulation_steps=2,
    num_train_epochs=3,
    bf16=True,
)
trainer = Trainer(model=model, args=args, train_dataset=train_ds)
trainer.train()
